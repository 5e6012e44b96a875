package config

// SSH is the jailed SFTP/rsync server. Its keys are defined with the ssh
// part; see README.md.
type SSH struct{}

func (s *SSH) check(c *checker, cfg *Config) {}
