"""The run core (layer 3): runs, their states, locks, lease, reaper, notifications, launcher."""
