package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
)

// mysqlTarget reads a mysql://user:pass@host:3306/db?param=value URL into
// a go-sql-driver DSN, with the README's recommended settings (parseTime,
// UTC) unless the URL's parameters say otherwise. The port defaults to
// 3306; other parameters are go-sql-driver's (tls=true, timeout=5s, ...).
func mysqlTarget(s string) (target, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the URL, password included: keep only the
		// reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return target{}, fmt.Errorf("invalid MySQL URL: %w", err)
	}
	shown := u.Redacted()
	cfg := gomysql.NewConfig()
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Net = "tcp"
	host := u.Hostname()
	if host == "" {
		host = "localhost"
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(host, port)
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	if len(u.Path) > 1 {
		cfg.DBName = u.Path[1:]
	}
	dsn := cfg.FormatDSN()
	if u.RawQuery != "" {
		sep := "?"
		if cfg.ParseTime || cfg.Loc != nil { // FormatDSN wrote parameters already
			sep = "&"
		}
		dsn += sep + u.RawQuery
	}
	// Parsing the result checks the URL's parameters (the error names the
	// parameter, never the password), and formatting it again lets them
	// override the defaults.
	parsed, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return target{}, fmt.Errorf("invalid MySQL URL %s: %w", shown, err)
	}
	return target{driver: "mysql", dsn: parsed.FormatDSN(), shown: shown}, nil
}

// mysqlDialector opens a go-sql-driver DSN with microsecond times (GORM's
// default DATETIME(3) would round expiries to milliseconds).
func mysqlDialector(dsn string) gorm.Dialector {
	six := 6
	return mysql.New(mysql.Config{DSN: dsn, DefaultDatetimePrecision: &six})
}
