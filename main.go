// Command keygate is the CDK app: it reads the keygate configuration from the
// CDK context, refuses a bad one before building anything, and synthesizes one
// GatewayStack per environment.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/gobuild"
	"github.com/keygate/keygate/stacks"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
}

func run() error {
	// aws-cdk-lib's built-in CloudFormation validation costs about 5 s per
	// synth here, more than everything else together: make lint (and so CI)
	// runs it, and CDK_VALIDATION=true turns it on for any synth.
	app := awscdk.NewApp(&awscdk.AppProps{
		BuiltinCloudFormationValidation: jsii.Bool(os.Getenv("CDK_VALIDATION") == "true"),
	})
	context, _ := app.Node().GetAllContext(nil).(map[string]any)
	cfg, err := config.FromContext(context)
	if err != nil {
		return err
	}
	moduleDir, err := gobuild.FindModuleRoot(".")
	if err != nil {
		return err
	}
	if _, err := stacks.NewApp(app, cfg, moduleDir); err != nil {
		return err
	}
	stacks.ApplyRulePacks(app)
	app.Synth(nil)
	return nil
}
