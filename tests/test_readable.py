import pytest

from classifier.dataset import load_examples
from classifier.readable import LANGUAGE_NOT_SUPPORTED, TOO_LITTLE, unreadable_reason
from config import Config


@pytest.mark.parametrize("text", [
    "Un asistente que responde preguntas de clientes sobre sus préstamos",
    "Wir bauen einen Chatbot für Kunden einer Versicherung, der Schadensmeldungen aufnimmt.",
    "Assistant qui aide les clients à choisir une assurance habitation",
    "Chatbot para clientes del banco",
    "用于客户服务的聊天机器人",
    "Чат-бот для клиентов банка",
])
def test_other_languages_are_not_supported(text):
    assert unreadable_reason(text) == LANGUAGE_NOT_SUPPORTED


@pytest.mark.parametrize("text", ["HR copilot", "chatbot", "AI", "a b"])
def test_too_short_to_say_what_it_does(text):
    assert unreadable_reason(text) == TOO_LITTLE


@pytest.mark.parametrize("text", [
    "Resume screening SaaS",
    "KYC onboarding bot",
    "Open Metadata: Metadata catalog identification.",
    "we want make the bot who answer to clients about their credit",
    "ONRR Video Hosting Platform [OVHP][2024 Inv#WO0000000110488]",
])
def test_terse_jargon_and_non_native_english_are_read(text):
    assert unreadable_reason(text) is None


def test_shipped_texts_are_almost_all_readable():
    texts = [e["text"] for path in (Config.TRAINING_DATA, Config.VALIDATION_DATA) for e in load_examples(path)]
    flagged = [t for t in texts if unreadable_reason(t)]
    assert len(flagged) <= len(texts) // 1000, flagged[:5]
