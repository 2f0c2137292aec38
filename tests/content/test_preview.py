"""A version's preview: escaped text, a small markdown subset, flagged words marked."""

from refloop.content.claims import Flag
from refloop.content.preview import body_html


def flag(text: str, words: str) -> Flag:
    start = text.index(words)
    return Flag("r", "guarantee", words, start, start + len(words), "why")


def test_it_escapes_whatever_the_author_typed():
    html = body_html('<script>alert("x")</script> <a href="http://evil">link</a> <b>b</b>')

    assert "<script" not in html and "<a " not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_it_understands_headings_lists_bold_and_paragraphs():
    html = body_html("# Whom we see\nAdults with **knee** pain.\n- notes\n- imaging\n\nCall us.")

    assert html == (
        "<h3>Whom we see</h3>\n<p>Adults with <strong>knee</strong> pain.</p>\n"
        "<ul><li>notes</li><li>imaging</li></ul>\n<p>Call us.</p>"
    )


def test_it_marks_the_words_each_flag_caught_even_across_lines():
    text = "We guarantee care.\nFree lunch\nfor your referrals."
    flags = [flag(text, "guarantee"), flag(text, "Free lunch\nfor your referrals")]

    html = body_html(text, flags=flags)

    assert "We <mark>guarantee</mark> care." in html
    assert "<mark>Free lunch</mark><br><mark>for your referrals</mark>." in html


def test_it_shows_personalisation_fields_and_literal_braces():
    html = body_html("Dear {first_name}, {{not a field}}", fields=True)

    assert '<code class="field">{first_name}</code>' in html
    assert "{{not a field}}" in html
