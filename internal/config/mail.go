package config

// Mail is the mail relay and backup MX. Its keys are defined with the mail
// part; see README.md.
type Mail struct{}

func (m *Mail) check(c *checker, cfg *Config) {}
