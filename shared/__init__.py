"""What every service needs: event contracts, the messaging runtime, settings and auth."""
