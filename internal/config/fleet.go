package config

// Fleet joins this host to others through etcd: shared ACME certificates,
// maintenance switch, SSH blocklist and membership. Plain data: the fleet
// package checks and compiles it (fleet.Compile).
type Fleet struct {
	// Etcd lists the client URLs of the etcd members, like
	// "https://10.0.0.1:2379".
	Etcd []string `toml:"etcd"`
	// Cert and Key are the client certificate and key bartleby presents
	// to etcd (mTLS); CA is a PEM file or a directory of them trusted for
	// etcd's server certificates.
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
	CA   string `toml:"ca"`
	// KeyFile holds the fleet key: 32 random bytes, hex or base64,
	// encrypting ACME private keys and the shared maintenance secrets in
	// etcd. The same on every node.
	KeyFile string `toml:"key_file"`
	// Node names this host in the fleet; the hostname by default.
	Node string `toml:"node"`
	// Prefix is where bartleby's keys live in etcd; "/bartleby/" by default.
	Prefix string `toml:"prefix"`
	// DialTimeout bounds connecting to etcd and each request; "5s" by default.
	DialTimeout Duration `toml:"dial_timeout"`
}
