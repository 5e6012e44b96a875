package config

import "strings"

// KeyTable documents the keys of one TOML table: the one source of the
// config tables in README.md and of bartleby.toml(5), so that neither can
// drift from the other, and (tested) none from the schema.
type KeyTable struct {
	// Header is the table as written in the file, "[web]" or "[[site]]";
	// "" for the top-level keys.
	Header string
	Rows   []KeyRow
}

// KeyRow is one row: markdown (inline code, bold, links to README
// anchors), as in the README's tables.
type KeyRow struct {
	// Key names the key or keys, relative to the table, each in
	// backquotes: "`cert`, `key`"; a bare name after a dotted one is its
	// sibling ("`user.password` / `password_file`"); " (top level)" at the
	// end makes the names absolute.
	Key     string
	Default string
	Meaning string
}

// Path is the table's dotted TOML path, "site.route"; "" at the top.
func (t KeyTable) Path() string { return strings.Trim(t.Header, "[]") }

// Names returns the full dotted TOML paths of the keys r documents.
func (t KeyTable) Names(r KeyRow) []string {
	prefix := t.Path()
	if strings.HasSuffix(r.Key, " (top level)") || prefix == "" {
		prefix = ""
	} else {
		prefix += "."
	}
	var names []string
	sibling := "" // the directory of the last dotted name
	parts := strings.Split(r.Key, "`")
	for i := 1; i < len(parts); i += 2 {
		name := parts[i]
		if dir, _, ok := cutLast(name, "."); ok {
			sibling = dir + "."
		} else {
			name = sibling + name
		}
		names = append(names, prefix+name)
	}
	return names
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// KeyDocs is the documentation of every key, table by table in the order
// of README.md.
func KeyDocs() []KeyTable {
	return []KeyTable{
		{Header: "", Rows: []KeyRow{
			{"`state_dir`", "`/var/lib/bartleby`", "all state: queue, certificates, host keys, maintenance state, watch history, the control socket. Created 0711 (everyone may reach the public socket, the group the control socket, by name; nobody lists the directory) and owned by the daemon's user; an existing one others may read or write is narrowed with a warning, one owned by another user is refused. Must be writable."},
			{"`user`", "none", "started as root, run as this user (and its groups) with only `CAP_NET_BIND_SERVICE`, before any part starts ([Privileges](#privileges)); `serve --user` overrides it. Started as root without it, `serve` warns"},
			{"`hostname`", "the system's", "the name the host answers as (SMTP greeting, self-signed certificates)"},
			{"`trusted_proxies`", "none", "CIDRs of reverse proxies whose `X-Forwarded-For` is believed (admin allowlist, maintenance bypass, proxy headers, access log). From anyone else it is ignored. The client is the right-most entry that is not itself a trusted proxy; a chain with an unparsable entry or more than 32 entries names nobody, so no allowlist lets it in."},
		}},
		{Header: "[web]", Rows: []KeyRow{
			{"`http`", "`\":80\"`", "plain HTTP listener: ACME HTTP-01, redirects, `https = \"off\"` sites"},
			{"`https`", "`\":443\"`", "HTTPS listener (HTTP/2 and HTTP/1.1)"},
		}},
		{Header: "[[site]]", Rows: []KeyRow{
			{"`hosts`", "required", "exact names or `*.example.org`; no port; each host in one site only"},
			{"`https`", "`\"always\"`", "`\"always\"` or `\"off\"` (plain HTTP only; warned about)"},
			{"`hsts_max_age`", "`\"365d\"`", "`Strict-Transport-Security` max-age; `\"0s\"` sends none"},
			{"`hsts_subdomains`", "`false`", "add `includeSubDomains`"},
			{"`cert`, `key`", "", "PEM files (re-read when they change); else ACME when `[acme]` is present, else self-signed"},
			{"`acme_email`", "`[acme] email`", "ACME account e-mail for this site"},
			{"`access_log`", "`\"off\"`", "a file (appended to, reopened on reload), `\"stderr\"` or `\"off\"`"},
			{"`access_log_format`", "`\"combined\"`", "`\"combined\"` or `\"json\"`"},
		}},
		{Header: "[[site.route]]", Rows: []KeyRow{
			{"`path`", "", "matcher: URL path prefix, ASCII case ignored; `\"/wp-uploads/\"` also matches `/wp-uploads`"},
			{"`ext`", "", "matcher: extensions, case-insensitive, without the dot"},
			{"`regex`", "", "matcher: RE2, anchored at both ends, against the decoded path"},
			{"`root`", "", "action: serve files from this directory"},
			{"`proxy`", "", "action: an upstream URL or a list (`\"http://127.0.0.1:8080\"`, scheme host and port only)"},
			{"`redirect`", "", "action: target; `{path}`, `{query}`, `{uri}` are replaced"},
			{"`code`", "`308`", "redirect status: 301, 302, 303, 307 or 308"},
			{"`respond`", "", "action: a fixed text body"},
			{"`status`", "`200`", "respond status"},
			{"`strip_prefix`", "", "removed from the path before the action (and before the upstream sees it)"},
			{"`index`", "`[\"index.html\"]`", "root: files served for a directory"},
			{"`browse`", "`false`", "root: list directories without an index"},
			{"`cache_control`", "", "root: `Cache-Control` of the files"},
			{"`proxy_host`", "`\"pass\"`", "proxy: `\"pass\"` the client's `Host`, or `\"rewrite\"` it to the upstream's"},
			{"`proxy_ca`", "system roots", "proxy: CA file or directory for `https://` upstreams"},
			{"`dial_timeout`", "`\"5s\"`", "proxy: connecting (and the TLS handshake)"},
			{"`response_timeout`", "`\"60s\"`", "proxy: waiting for the response headers; then `504`"},
			{"`idle_timeout`", "`\"90s\"`", "proxy: idle upstream connections are closed after"},
			{"`fail_duration`", "`\"10s\"`", "proxy: how long a failed upstream is skipped"},
			{"`websocket`", "`false`", "proxy: pass `Upgrade: websocket` (and the `101` tunnel) to the upstream"},
			{"`cache`", "off", "proxy: `\"10m\"` (the TTL) or a `[site.route.cache]` table, below"},
			{"`compress`", "`true`", "gzip/zstd of text-like answers of 1 KiB or more; `false` turns it off"},
			{"`allow`", "everyone", "client CIDRs let in (others `403`)"},
			{"`deny`", "", "client CIDRs refused (`403`), checked before `allow`"},
			{"`basic_auth`", "", "`{ user = \"$2a$…\" }`: bcrypt hashes (`bartleby admin hash-password`); `401` without a valid login"},
			{"`rate_limit`", "", "`\"N/s\"`, `\"N/m\"`, `\"N/h\"` or `\"N/d\"` requests per client address (an IPv6 client: per /64); `429` beyond"},
			{"`rate_burst`", "the rate's N", "requests at once before the rate applies"},
			{"`max_body`", "no limit", "request body size (`\"1MB\"`, `\"64KiB\"`); `413` beyond"},
			{"`headers`", "", "`{ set = { Name = \"value\" }, add = { … }, remove = [\"X-Powered-By\"] }` on responses"},
		}},
		{Header: "[site.route.cache]", Rows: []KeyRow{
			{"`ttl`", "`\"10m\"`", "freshness when the upstream gives none (heuristically cacheable statuses only: 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501)"},
			{"`max_size`", "`\"64MiB\"`", "memory for entries (at least 1MiB), least recently used evicted; an object over 1/8 of it (16 MiB at most) is streamed, not kept"},
			{"`stale_if_error`", "`\"1h\"`", "how long an expired entry is served when the upstream fails (unless the upstream's `stale-if-error` says otherwise)"},
			{"`stale_while_revalidate`", "`\"0s\"`", "how long an expired entry is served while one background request refreshes it (unless the upstream's `stale-while-revalidate` says otherwise)"},
			{"`bypass_cookies`", "", "cookie name globs (`\"wordpress_logged_in_*\"`) whose requests skip the cache"},
			{"`x_cache`", "`false`", "add `X-Cache: HIT`, `MISS` or `STALE`"},
		}},
		{Header: "[site.maintenance]", Rows: []KeyRow{
			{"`page`", "built-in", "an `html/template` file for the page; relative to the config file"},
			{"`message`", "a generic sentence", "the message when `maint on` gives none"},
			{"`retry_after`", "`\"5m\"`", "`Retry-After` when no end is known"},
			{"`allow`", "none", "client addresses or CIDRs that bypass"},
			{"`bypass_secret_file`", "none", "file holding the secret URL's token (turns the secret URL on)"},
			{"`cookie_lifetime`", "`\"12h\"`", "lifetime of the bypass cookie (at least 1m)"},
			{"`exempt`", "none", "paths always passed to the site: exact, or a prefix when ending in `/`"},
			{"`when_backend_down`", "`false`", "serve the maintenance page when every upstream is failing"},
		}},
		{Header: "[mail]", Rows: []KeyRow{
			{"`qualify_domain`", "`hostname`", "the domain added to bare names (recipients and senders without `@`)"},
			{"`aliases`", "none", "an `/etc/aliases`-format file, re-read when it changes ([Aliases](#aliases))"},
			{"`submit`", "`[\"127.0.0.1:25\"]` with a smarthost", "SMTP submission listeners, without AUTH: loopback addresses only"},
			{"`submit_from`", "`[\"127.0.0.0/8\", \"::1/128\"]`", "clients of the backup MX listener that relay, as Postfix's `mynetworks`; one that lets every address in is refused"},
			{"`maildrop`", "`state_dir/maildrop`", "where `sendmail` drops mail while the daemon is down; a change needs a restart"},
			{"`max_size`", "`\"25MB\"`", "largest message accepted"},
			{"`retry_every`", "`\"30m\"`", "longest wait between delivery attempts"},
			{"`give_up_after`", "`\"5d\"`", "then the message bounces"},
		}},
		{Header: "[mail.smarthost]", Rows: []KeyRow{
			{"`host`", "required", "where all mail goes, as `host:port`"},
			{"`tls`", "`\"starttls\"`", "`\"starttls\"` or `\"implicit\"`; the certificate is always verified, never plain text"},
			{"`ca`", "system roots", "CA file or directory trusted for the smarthost's certificate"},
			{"`tls_server_name`", "the host of `host`", "the name checked in the smarthost's certificate"},
			{"`username`", "none", "AUTH user name, with `password_file`, or neither"},
			{"`password_file`", "none", "file holding the AUTH password; mode 600 (warned otherwise)"},
			{"`timeout`", "`\"2m\"`", "per SMTP phase"},
			{"`connections`", "`2`", "parallel connections, 1 to 32; a change needs a restart"},
		}},
		{Header: "[mail.backup_mx]", Rows: []KeyRow{
			{"`listen`", "required", "addresses to receive mail on, like `[\":25\"]`"},
			{"`domains`", "required", "the domains this host is a backup MX for (`\".example.org\"`: its subdomains); mail for anything else is refused"},
			{"`recipients`", "none", "the valid addresses; without it any address of the domains is accepted and `bartleby check` warns (backscatter)"},
			{"`primary`", "required", "the primary MX as `host:port`, or `\"mx\"` for the domains' MX records"},
			{"`primary_tls`", "`\"opportunistic\"`", "`\"opportunistic\"` or `\"required\"` (verified TLS to the primary)"},
			{"`ca`", "system roots", "CA file or directory for `primary_tls = \"required\"`"},
			{"`retry_every`", "`[mail] retry_every`", "longest wait between attempts to the primary"},
			{"`give_up_after`", "`[mail] give_up_after`", "then the message bounces"},
			{"`probe_every`", "`\"1m\"`", "how often the primary is probed while mail waits for it"},
			{"`max_recipients`", "`100`", "recipients per message"},
			{"`max_connections`", "`100`", "connections at once"},
			{"`max_per_ip`", "`10`", "connections at once from one address (an IPv6 /64 counts as one)"},
			{"`greet_pause`", "`\"300ms\"`", "a client that talks before the greeting is dropped; `\"0s\"` turns the test off"},
			{"`cert`, `key`", "none", "PEM certificate and key; else ACME when a web site with ACME has `hostname` among its hosts, else self-signed"},
		}},
		{Header: "[ssh]", Rows: []KeyRow{
			{"`listen`", "`:115`", "address to listen on"},
			{"`host_keys`", "made in `state_dir/ssh`", "private key files (OpenSSH or PEM, unencrypted; DSA refused)"},
			{"`ciphers`", "AES-GCM only", "any of aes128/256-gcm, chacha20-poly1305, aes128/192/256-ctr"},
			{"`max_auth_tries`", "3", "failed attempts before the connection is cut"},
			{"`login_grace_time`", "30s", "handshake + authentication deadline"},
			{"`idle_timeout`", "15m", "disconnect after this long without traffic"},
			{"`max_connections`", "100", "concurrent connections; more are closed at accept"},
			{"`max_startups`", "30", "concurrent connections not logged in yet (at most `max_connections`)"},
			{"`per_source_max_startups`", "5", "of those, from one address or IPv6 /64 (at most `max_startups`)"},
			{"`per_user_max_connections`", "10", "logged-in connections of one user at once (at most `max_connections`); each may run up to 10 sftp or rsync sessions"},
			{"`defender.failures` / `window` / `block_for`", "10 / 10m / 15m", "per-address blocking"},
			{"`user.name`", "—", "login name (no spaces, `:`, `/`, `@`)"},
			{"`user.password` / `password_file`", "—", "bcrypt, argon2id or `$6$` hash (inline or file)"},
			{"`user.keys` / `authorized_keys`", "—", "`authorized_keys` lines, inline or a file"},
			{"`user.root`", "—", "the user's `/`"},
			{"`user.mounts`", "none", "`\"/point\" = \"dir\"` or `{ dir = \"…\", read_only = true }`; directories must not nest"},
			{"`user.read_only`", "false", "no change anywhere; rsync pull only"},
			{"`user.rsync`", "false", "allow the checked, confined `rsync --server`"},
			{"`user.rsync_owner`", "false", "accept rsync's `-o`/`-g`/`--chown` (owners are still never changed: see Ownership)"},
			{"`user.group`", "the daemon's group", "group (name or number, not root's) of every file and directory the user writes through SFTP or rsync; the daemon's user must be a member ([Group and umask](#group-and-umask))"},
			{"`user.umask`", "`\"022\"`", "octal umask applied to every mode the user's files and directories get, `\"002\"` for a directory shared with `group`"},
		}},
		{Header: "[watch]", Rows: []KeyRow{
			{"`features`", "required unless only `clock` or `ntp_server`", "a `.feature` file or a directory of them ([Feature files](#feature-files))"},
			{"`base`", "none", "the URL relative URLs resolve against"},
			{"`every`", "`\"5m\"`", "how often each scenario runs; at least `10s`"},
			{"`jitter`", "`every`/10", "each next run is `every` ± `jitter`; shorter than `every`"},
			{"`retry`", "`\"30s\"`", "a failure is re-run after this; only a second failure counts"},
			{"`timeout`", "`\"30s\"`", "per step"},
			{"`history`", "`288`", "runs kept per scenario (a day at 5m), 1 to 100000"},
			{"`ca`", "system roots", "CA file or directory trusted instead of the system's"},
		}},
		{Header: "[watch.clock]", Rows: []KeyRow{
			{"`servers`", "required", "NTP servers, `host` or `host:port`, at most 16"},
			{"`warn`", "`\"100ms\"`", "an offset beyond this is a warning"},
			{"`crit`", "`\"1s\"`", "an offset beyond this is critical; not below `warn`"},
			{"`every`", "`\"15m\"`", "how often the check runs (and at start); at least `1m`"},
		}},
		{Header: "[watch.ntp_server]", Rows: []KeyRow{
			{"`listen`", "required", "UDP addresses to answer on"},
			{"`stratum`", "`2`", "upstream stratum claimed when `[watch.clock]` has no answer, 1 to 14; answers say `stratum`+1"},
			{"`rate`", "`1`", "queries per second per client address"},
			{"`burst`", "`8`", "queries at once before the rate applies"},
			{"`clients`", "`10000`", "client addresses tracked at once (the memory cap)"},
			{"`leak`", "`16`", "1 in `leak` queries over the rate is still answered"},
		}},
		{Header: "[admin]", Rows: []KeyRow{
			{"`listen`", "`127.0.0.1:8025`", "address of the HTTPS listener"},
			{"`allow`", "`[\"127.0.0.0/8\", \"::1/128\"]`", "CIDRs (or single addresses) that may use the UI at all; everybody else gets 403"},
			{"`users`", "none", "user name → bcrypt hash. When set, every page but `/metrics`, `/healthz` and the style sheet needs a login. Without it, an `allow` reaching beyond loopback gets a warning from `bartleby check`"},
			{"`session_ttl`", "`12h`", "how long a login lasts **without use**; each request extends it (sliding). At least `1m`"},
			{"`cert`, `key`", "none", "PEM certificate and key, re-read when they change. Without them bartleby makes a self-signed certificate for `hostname`, `localhost` and the loopback addresses, kept in `state_dir/certs/`"},
			{"`trusted_proxies` (top level)", "none", "peers whose `X-Forwarded-For` header is used to find the client address"},
		}},
		{Header: "[acme]", Rows: []KeyRow{
			{"`email`", "none", "account e-mail given to the CA (expiry notices). A site's `acme_email` overrides it for that site."},
			{"`directory`", "`https://acme-v02.api.letsencrypt.org/directory`", "ACME directory URL of the CA (Let's Encrypt staging, a private CA, Pebble in tests). Must be an http(s) URL."},
			{"`ca_root`", "system roots", "CA certificate(s) trusted when talking to `directory`, for a private CA: a PEM file or a directory (see below)."},
			{"`challenges`", "`[\"http-01\", \"tls-alpn-01\"]`", "which validations the CA may use: only `http-01` behind a proxy that terminates TLS, only `tls-alpn-01` when port 80 is closed."},
		}},
		{Header: "[fleet]", Rows: []KeyRow{
			{"`etcd`", "(required)", "client URLs of the etcd members; `https://` only"},
			{"`cert`, `key`", "(required)", "client certificate and key presented to etcd"},
			{"`ca`", "(required)", "CA file or directory trusted for etcd's certificates"},
			{"`key_file`", "(required)", "the fleet key: 32 bytes, hex or base64, refused if group/other-readable"},
			{"`node`", "hostname", "this node's name in the fleet"},
			{"`prefix`", "`/bartleby/`", "where bartleby's keys live in etcd"},
			{"`dial_timeout`", "`5s`", "bound on connecting and on each request"},
		}},
	}
}
