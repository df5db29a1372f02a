package cacheadmin

import "gorm.io/gorm"

// This file is the only place in cacheadmin that looks at the database
// dialect.

// sizeExpr is an SQL expression for the size of the stored JSON in bytes.
// PostgreSQL's jsonb has no length of its own, so it is measured as text.
func sizeExpr(db *gorm.DB) string {
	if db.Dialector.Name() == "postgres" {
		return `octet_length("cached_items"."value"::text)`
	}
	return `length(CAST("cached_items"."value" AS BLOB))`
}
