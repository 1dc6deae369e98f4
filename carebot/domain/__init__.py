"""The vocabulary and rules with no I/O: settings, clock, language, phone numbers, SMS segments, daytime, pairing."""
