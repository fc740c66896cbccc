"""SMS delivery: providers (outbox, Africa's Talking, Twilio), the dispatcher, templates and segments,
delivery reports. See docs/sms.md."""

from db.sms.dispatcher import Dispatcher, DispatchSummary, e164_problem
from db.sms.providers import (
    AfricasTalkingProvider,
    DeliveryReport,
    OutboxProvider,
    OutgoingMessage,
    Provider,
    SendResult,
    TwilioProvider,
    build_provider,
)
from db.sms.segments import SegmentInfo, segments
from db.sms.settings import SmsSettings, sms_settings
from db.sms.templates import TemplateError, render

__all__ = [
    "AfricasTalkingProvider", "DeliveryReport", "DispatchSummary", "Dispatcher", "OutboxProvider",
    "OutgoingMessage", "Provider", "SegmentInfo", "SendResult", "SmsSettings", "TemplateError", "TwilioProvider",
    "build_provider", "e164_problem", "render", "segments", "sms_settings",
]
