"""Home-care bookings: the ledger (`ledger`: catalogue, capacity, free hours, booking,
rescheduling and cancelling in one transaction each) and how callers name services,
days and bookings (`text`)."""
