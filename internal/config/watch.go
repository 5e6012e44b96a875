package config

// Watch is the behaviour monitoring and clock check. Its keys are defined
// with the watch part; see README.md.
type Watch struct{}

func (w *Watch) check(c *checker, cfg *Config) {}
