"""Demo data of DESIGN.md: personas and streets (`loader`, which runs every registered
loader once into an empty database), the service catalogue, providers and capacity
(`bookings`) and the demo console accounts (`console`)."""
