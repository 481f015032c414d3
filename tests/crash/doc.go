// Package crash tests metricsd's durability end to end: it builds the real
// binary, serves on loopback with a data directory, kills the process with
// SIGKILL at random moments while clients put, restarts it, and checks
// that every acknowledged point survived with its value and its key's
// place in first-insertion order. The package has no code of its own.
package crash
