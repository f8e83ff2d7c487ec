"""How callers reach the assistant: the web widget and its pages (`widget`), and the phone
and SMS webhooks of each provider (`twilio`, `freeswitch`), thin adapters over the
provider-neutral turn engine in server/telephony/."""
