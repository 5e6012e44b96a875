package certs

import "errors"

var errNotYet = errors.New("certs: not implemented yet")
