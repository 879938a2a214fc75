package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/keygate/keygate/internal/config"
)

// AuthorizerPackage is the Go main package of the authorizer Lambda,
// relative to the module root.
const AuthorizerPackage = "./lambda/authorizer"

// Gateways is what NewApp built: one stack per environment and the one
// authorizer asset they share.
type Gateways struct {
	Stacks     []*GatewayStack
	Authorizer *GoLambdaAsset
}

// NewApp adds one GatewayStack per configured environment to app, all sharing
// one bundled authorizer. cfg must come from config.Parse, which has already
// refused anything that could fail here.
func NewApp(app awscdk.App, cfg config.Config, moduleDir string) (*Gateways, error) {
	authorizer, err := NewGoLambdaAsset(moduleDir, AuthorizerPackage)
	if err != nil {
		return nil, err
	}
	// CDK bundles an asset when its construct is created, so every stack has
	// its copy of the binary by the time the loop ends.
	defer authorizer.Close()
	gateways := &Gateways{Authorizer: authorizer}
	for _, env := range cfg.Environments {
		gateways.Stacks = append(gateways.Stacks, NewGatewayStack(app, env.StackName(), &GatewayStackProps{
			Environment: env,
			Authorizer:  authorizer,
		}))
	}
	return gateways, nil
}
