//go:build !race

package smb

// raceEnabled reports a build with the race detector.
const raceEnabled = false
