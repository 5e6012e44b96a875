package passwd

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The test vectors of Drepper's SHA-crypt specification.
var shaVectors = []struct{ key, hash string }{
	{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"a short string", "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{"the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
}

func TestSHA512CryptVectors(t *testing.T) {
	t.Parallel()
	for _, v := range shaVectors {
		if err := Check(v.hash); err != nil {
			t.Errorf("Check(%s): %v", v.hash, err)
		}
		if !Verify(v.hash, v.key) {
			t.Errorf("Verify(%s, %q) = false, want true", v.hash, v.key)
		}
		if Verify(v.hash, v.key+"x") {
			t.Errorf("Verify(%s) accepted a wrong password", v.hash)
		}
	}
}

// A yescrypt line as Debian 12 writes it to /etc/shadow, at its default
// cost j9T: `echo "correct horse" | mkpasswd -m yescrypt --stdin` (package
// whois, libxcrypt).
const yescryptVector = "$y$j9T$9UclfpGLjOl18Fw0j7Y8j/$PdgChmTulWE2DGy7iWocTSGpfb74nCrvcLfTd8MunH4"

func TestYescrypt(t *testing.T) {
	if err := Check(yescryptVector); err != nil {
		t.Fatal(err)
	}
	if !Verify(yescryptVector, "correct horse") {
		t.Error("the right password is refused")
	}
	if Verify(yescryptVector, "correct horsf") {
		t.Error("a wrong password is accepted")
	}
	for _, bad := range []string{"$y$", "$y$j9T$", "$y$jzz$salt$hash", "$y$jFT$9UclfpGLjOl18Fw0j7Y8j/$PdgChmTulWE2DGy7iWocTSGpfb74nCrvcLfTd8MunH4"} {
		if err := Check(bad); err == nil {
			t.Errorf("Check(%q) accepted it", bad)
		}
		if Verify(bad, "correct horse") {
			t.Errorf("Verify(%q) accepted it", bad)
		}
	}
}

func TestSHA512CryptRoundsBound(t *testing.T) {
	if err := Check("$6$rounds=20000000$salt$" + strings.Repeat("a", 86)); err == nil {
		t.Error("20 million rounds accepted")
	}
}

func argonHash(pw string, m, tm uint32, p uint8) string {
	salt := []byte("0123456789abcdef")
	sum := argon2.IDKey([]byte(pw), salt, tm, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

func TestArgon2id(t *testing.T) {
	t.Parallel()
	h := argonHash("correct horse", 1024, 2, 2)
	if err := Check(h); err != nil {
		t.Fatal(err)
	}
	if !Verify(h, "correct horse") || Verify(h, "correct horsE") {
		t.Error("argon2id verify wrong")
	}
	for _, bad := range []string{
		strings.Replace(h, "v=19", "v=16", 1),
		strings.Replace(h, "m=1024", "m=99999999", 1),
		strings.Replace(h, ",t=2", ",t=2,x=1", 1),
		h[:len(h)-10],
	} {
		if Check(bad) == nil {
			t.Errorf("Check(%s) accepted a bad hash", bad)
		}
		if Verify(bad, "correct horse") {
			t.Errorf("Verify(%s) accepted a bad hash", bad)
		}
	}
}

func TestBcryptAndEmpty(t *testing.T) {
	t.Parallel()
	h, err := Hash("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2a$12$") || Check(h) != nil {
		t.Fatalf("Hash made %q", h)
	}
	if !Verify(h, "s3cret") || Verify(h, "s3cre") || Verify(h, "") {
		t.Error("bcrypt verify wrong")
	}
	if _, err := Hash(""); err == nil {
		t.Error("Hash accepted an empty password")
	}
	if Check("plaintext") == nil || Check("$1$abc$def") == nil {
		t.Error("Check accepted a non-hash")
	}
}

func FuzzCheck(f *testing.F) {
	for _, v := range shaVectors {
		f.Add(v.hash)
	}
	f.Add(argonHash("x", 64, 1, 1))
	f.Add("$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234")
	f.Fuzz(func(t *testing.T, h string) {
		if Check(h) != nil && Verify(h, "x") {
			t.Fatalf("Verify accepted a hash Check refused: %q", h)
		}
	})
}

// TestParams: hashes of one kind and cost share their Params, so the SSH
// server times one of each for its dummy hash; salts never count.
func TestParams(t *testing.T) {
	for hash, want := range map[string]string{
		yescryptVector:                            "$y$j9T",
		"$y$jFT$abc$def":                          "$y$jFT",
		"$6$salt$sum":                             "$6",
		"$6$rounds=5000$salt$sum":                 "$6$rounds=5000",
		"$2y$12$abcdefghijklmnopqrstuv":           "$2y$12",
		"$argon2id$v=19$m=65536,t=3,p=4$salt$sum": "$argon2id$v=19$m=65536,t=3,p=4",
	} {
		if got := Params(hash); got != want {
			t.Errorf("Params(%q) = %q, want %q", hash, got, want)
		}
	}
}
