"""Notifications: family contact points and preferences, message templates, deliveries."""
