"""The demo: synthetic practices (seed), and the patient simulator that registers, taps I'm Here
and pays over the patient API like a real app. Never used by the service itself."""
