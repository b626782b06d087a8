//! Pull scraping.
