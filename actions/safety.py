"""Emergencies and scam reports: protective advice first, then a record and a human."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import caller_phone, channel, latest_text, log
from bot import handoff


class ActionEmergency(Action):
    def name(self) -> Text:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        # The advice goes out even if recording fails: never let the database stop it.
        handoff_id = None
        try:
            handoff_id = handoff.record_safety_event(
                "emergency", sender_id=tracker.sender_id, channel=channel(tracker),
                phone=caller_phone(tracker), text=latest_text(tracker))
        except Exception:
            log.exception("could not record emergency for sender %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_emergency",
                                 json_message={"action": "handoff", "urgent": True,
                                               "handoff_id": handoff_id})
        # An emergency ends whatever form was in progress.
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionScamReport(Action):
    def name(self) -> Text:
        return "action_scam_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        try:
            handoff.record_safety_event(
                "scam", sender_id=tracker.sender_id, channel=channel(tracker),
                phone=caller_phone(tracker), text=latest_text(tracker))
        except Exception:
            log.exception("could not record scam report for sender %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_scam_advice")
        dispatcher.utter_message(response="utter_anything_else")
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
