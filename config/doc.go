// Package config is idverify's one typed configuration, loaded with viper from a YAML file,
// IDVERIFY_* environment variables and flags, and validated with messages that name the key
// path of every problem and say what to do about it.
package config
