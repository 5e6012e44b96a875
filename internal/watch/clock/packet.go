// Package clock checks the host clock against NTP servers and answers NTP
// clients with it. A clock that drifted quietly breaks signatures and TLS
// far from where the drift is noticed (a Xen guest 20 minutes ahead made S3
// answer 403), so bartleby measures it and says what the skew breaks.
package clock

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// PacketSize is the NTP header without extension fields or MAC.
const PacketSize = 48

// NTP modes (RFC 5905 section 7.3).
const (
	ModeClient  = 3
	ModeServer  = 4
	ModeControl = 6 // ntpq; never answered: a classic amplification vector
	ModePrivate = 7 // ntpdc monlist; likewise
)

// Leap indicator values.
const (
	LeapNone   = 0
	LeapUnsync = 3
)

// Packet is an NTPv3/v4 header. Timestamps are in NTP 64-bit format, kept
// raw so that origin is echoed bit for bit.
type Packet struct {
	Leap, Version, Mode uint8
	Stratum             uint8
	Poll, Precision     int8
	RootDelay, RootDisp uint32 // NTP short format (16.16 seconds)
	RefID               uint32
	RefTime, Origin     uint64
	Receive, Transmit   uint64
}

var errShort = errors.New("ntp: packet shorter than 48 bytes")

// ParsePacket decodes the header of b. Extension fields and MACs after it are
// ignored; the version must be 1 to 4.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < PacketSize {
		return Packet{}, errShort
	}
	p := Packet{
		Leap:      b[0] >> 6,
		Version:   (b[0] >> 3) & 7,
		Mode:      b[0] & 7,
		Stratum:   b[1],
		Poll:      int8(b[2]),
		Precision: int8(b[3]),
		RootDelay: binary.BigEndian.Uint32(b[4:]),
		RootDisp:  binary.BigEndian.Uint32(b[8:]),
		RefID:     binary.BigEndian.Uint32(b[12:]),
		RefTime:   binary.BigEndian.Uint64(b[16:]),
		Origin:    binary.BigEndian.Uint64(b[24:]),
		Receive:   binary.BigEndian.Uint64(b[32:]),
		Transmit:  binary.BigEndian.Uint64(b[40:]),
	}
	if p.Version < 1 || p.Version > 4 {
		return Packet{}, fmt.Errorf("ntp: unsupported version %d", p.Version)
	}
	return p, nil
}

// Append encodes p after b.
func (p *Packet) Append(b []byte) []byte {
	b = append(b, p.Leap<<6|(p.Version&7)<<3|p.Mode&7, p.Stratum, byte(p.Poll), byte(p.Precision))
	b = binary.BigEndian.AppendUint32(b, p.RootDelay)
	b = binary.BigEndian.AppendUint32(b, p.RootDisp)
	b = binary.BigEndian.AppendUint32(b, p.RefID)
	for _, ts := range []uint64{p.RefTime, p.Origin, p.Receive, p.Transmit} {
		b = binary.BigEndian.AppendUint64(b, ts)
	}
	return b
}

// ntpEpochOffset is 1900-01-01 to 1970-01-01 in seconds.
const ntpEpochOffset = 2208988800

// Timestamp converts t to NTP 64-bit format (era 0, valid until 2036).
func Timestamp(t time.Time) uint64 {
	sec := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return sec<<32 | frac
}

// Time converts an NTP timestamp back (era 0).
func Time(ts uint64) time.Time {
	sec := int64(ts>>32) - ntpEpochOffset
	nsec := int64(((ts & 0xffffffff) * 1e9) >> 32)
	return time.Unix(sec, nsec)
}

// Short converts d to NTP short format, saturating at its maximum.
func Short(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	if d >= 65536*time.Second {
		return 0xffffffff
	}
	return uint32(d * 65536 / time.Second)
}

// Kiss makes a kiss-of-death code, which goes in RefID as four ASCII letters.
func Kiss(code string) uint32 { return binary.BigEndian.Uint32([]byte(code)) }
