// Package ui is what admin pages share: the layout, the logged-in user and
// the CSRF token. Parts that add admin pages render through it so every page
// looks the same and carries the same protections.
package ui
