package config

import (
	"crypto/sha256"
	"encoding/binary"
)

// API keys live in nested stacks ("shards") because an environment may hold
// up to 10,000 of them (API Gateway's default quota per account and region)
// and a CloudFormation template may hold only 500 resources.
//
// A key's shard is a pure function of its name and this constant, never of its
// position in the config or of how many keys there are: moving a key to
// another nested stack deletes it and creates a new one with a new value,
// which locks every client of that key out. So:
//
//	NEVER CHANGE KeyShardCount. Doing so moves almost every key.
const KeyShardCount = 100

// MaxKeysPerShard keeps every shard inside CloudFormation's per-template
// limits: each key is two resources (the key and its usage plan attachment,
// 500 resources at most) and one output (its id, 200 outputs at most).
const MaxKeysPerShard = 200

// MaxKeysPerEnvironment is API Gateway's default API key quota per account
// and region.
const MaxKeysPerEnvironment = 10000

// KeyShard is the shard (0 ≤ shard < KeyShardCount) that holds the key with
// the given name.
func KeyShard(keyName string) int {
	sum := sha256.Sum256([]byte(keyName))
	return int(binary.BigEndian.Uint32(sum[:4]) % KeyShardCount)
}
