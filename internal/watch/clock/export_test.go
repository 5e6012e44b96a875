package clock

// Quick is quick for the external tests.
var Quick = quick
