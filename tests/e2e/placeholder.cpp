// e2e placeholder
