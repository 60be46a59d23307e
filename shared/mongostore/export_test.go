package mongostore

// SetBeforeRepoint makes f run between a key's re-pointing checks and its write, until
// the test ends.
func SetBeforeRepoint(f func()) (restore func()) {
	beforeRepoint = f
	return func() { beforeRepoint = func() {} }
}
