// Package bench holds gormcache's benchmarks against raw SQL, naive GORM,
// scs and Redis. It is its own module so that the library's go.mod carries
// none of their dependencies. Run everything with run.sh.
package bench
