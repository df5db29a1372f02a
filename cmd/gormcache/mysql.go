package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
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
		// As for PostgreSQL (postgresURL): only the reason, and not the
		// part of the URL it quotes when a password may be in it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(s, "@") {
			return target{}, fmt.Errorf("invalid MySQL URL: %s (percent-encode the special characters of a password: # as %%23, / as %%2F, %% as %%25, @ as %%40)",
				quoted.ReplaceAllString(err.Error(), "…"))
		}
		return target{}, fmt.Errorf("invalid MySQL URL: %w", err)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		// An unencoded # in the password ends the URL where it stands.
		return target{}, errors.New("invalid MySQL URL: it has a #fragment (percent-encode # in a password as %23)")
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw, url.PathEscape(pw), url.QueryEscape(pw))
		slices.Sort(secrets)
		secrets = slices.Compact(secrets)
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
	return target{driver: "mysql", dsn: parsed.FormatDSN(), shown: shown, secrets: secrets}, nil
}

// mysqlDialector opens a go-sql-driver DSN with microsecond times (GORM's
// default DATETIME(3) would round expiries to milliseconds).
func mysqlDialector(dsn string) gorm.Dialector {
	six := 6
	return mysql.New(mysql.Config{DSN: dsn, DefaultDatetimePrecision: &six})
}
