import pytest

from classifier.text import DescriptionError, clean_text, pack_windows, split_sentences


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("!!! ???", "empty"),
        ("x" * 20_001, "limit is 20,000"),
        (None, "must be text"),
    ],
)
def test_unusable_descriptions_are_refused(text, message):
    with pytest.raises(DescriptionError, match=message):
        clean_text(text)


def test_control_characters_are_dropped_but_lines_kept():
    assert clean_text("a\x00b\x07c\nd\te") == "a b c\nd\te"


@pytest.mark.parametrize("text", ["Un chatbot para inquilinos 🏠", "面向患者的分诊聊天机器人", "مساعد قانوني"])
def test_other_languages_and_emoji_pass(text):
    assert clean_text(text) == text


def test_split_sentences_handles_bullets_and_cjk():
    text = "First thing. Second thing!\n- a bullet\n2) numbered item\n第一句。第二句。"
    expected = ["First thing.", "Second thing!", "a bullet", "numbered item", "第一句。", "第二句。"]
    assert split_sentences(text) == expected


def test_pack_windows_respects_budget_and_keeps_all_text():
    sentences = ["one two three"] * 5 + ["x " * 50]
    windows = pack_windows(sentences, [3] * 5 + [50], budget=10)
    assert all(sum(len(s.split()) for s in w) <= 12 for w in windows)
    assert " ".join(" ".join(w) for w in windows).split() == " ".join(sentences).split()


def test_pack_windows_cuts_text_without_spaces():
    windows = pack_windows(["字" * 300], [300], budget=100)
    assert len(windows) >= 3
    assert "".join(s for w in windows for s in w) == "字" * 300
