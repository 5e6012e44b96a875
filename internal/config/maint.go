package config

// Maintenance is a site's maintenance mode: its page and who bypasses it.
// Its keys are defined with the maintenance feature; see README.md.
type Maintenance struct{}

func (m *Maintenance) check(c *checker, cfg *Config, key string) {}
