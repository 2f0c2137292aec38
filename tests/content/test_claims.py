"""The claims checker with the default rules as seeded (migration 0003): what each category
catches, the exact words and their position, and what it deliberately lets through."""

import pytest

from refloop.content.claims import claims_check, rule_compile
from refloop.content.models import ClaimRule
from refloop.content.services import claim_rule_save
from refloop.core.errors import DomainError, NotAllowed

pytestmark = pytest.mark.django_db


def caught(text: str) -> list[tuple[str, str]]:
    return [(flag.category, flag.words) for flag in claims_check(text)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("We guarantee an appointment within a week.", "guarantee"),
        ("Guaranteed results for your patients!", "Guaranteed"),
        ("No wait times, ever.", "No wait times"),
        ("Same-day appointments for everyone.", "Same-day appointments for everyone"),
        ("A risk-free procedure.", "risk-free"),
    ],
)
def test_it_flags_guarantees(text, words):
    assert caught(text) == [("guarantee", words)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The best spine care in the region.", "best"),
        ("We are #1 in the state.", "#1"),
        ("Our top-rated surgeons see you.", "top-rated"),
        ("A leading cardiology group.", "leading"),
        ("World-class imaging.", "World-class"),
    ],
)
def test_it_flags_unqualified_superlatives(text, words):
    assert caught(text) == [("superlative", words)]


@pytest.mark.parametrize(
    "text",
    [
        "We follow best practice guidelines for imaging.",
        "Best regards, Leon",
        "At best, a referral letter alone delays the visit.",
        "Missing records are leading to delays.",
        "Ranked #1 by the State Heart Survey in 2024.",  # qualified: who ranked it
        "The best outcomes in the state, according to the 2024 registry report.",
    ],
)
def test_it_lets_through_what_is_not_an_unqualified_superlative(text):
    assert caught(text) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("92% of patients are seen within 7 days.", "92%"),
        ("Satisfaction rose 4.5 percent.", "4.5 percent"),
        ("9 out of 10 patients recommend us.", "9 out of 10"),
        ("Nine in ten referring offices return.", "Nine in ten"),
        ("Referrals answered 3x faster.", "3x faster"),
    ],
)
def test_it_flags_statistics_without_a_source(text, words):
    assert caught(text) == [("statistic", words)]


@pytest.mark.parametrize(
    "text",
    [
        "92% of patients are seen within 7 days (Source: 2024 internal audit).",
        "92% of patients are seen within 7 days. (Source: 2024 internal audit.)",
        "Nine in ten referring offices return [1].",
        "According to the state registry, 9 out of 10 patients recommend us.",
        "Step 1 of 3: send the notes.",
    ],
)
def test_it_accepts_a_statistic_with_its_source_in_the_sentence(text):
    assert caught(text) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Free lunch for your referrals this month.", "Free lunch for your referrals"),
        ("A $50 gift card with every visit.", "gift card"),
        ("In exchange for your referrals, we host you.", "In exchange for your referrals"),
        ("Refer three patients and get a dinner.", "Refer three patients and get"),
        ("A thank-you basket per referral.", "per referral"),
    ],
)
def test_it_flags_value_in_exchange_for_referrals(text, words):
    assert caught(text) == [("referral_value", words)]


def test_it_lets_through_plain_referral_instructions():
    text = (
        "Send the referral by fax or the e-referral form. A free lunch-and-learn on new "
        "guidelines is open to all offices."
    )
    assert caught(text) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Jane came in with DOB 03/14/1962.", "DOB 03/14/1962"),
        ("Chart MRN: 00451234 was reviewed.", "MRN: 00451234"),
        ("SSN 123-45-6789 on file.", "123-45-6789"),
        ("Patient John Smith walked again.", "Patient John Smith"),
        ("Mrs. Jones was home in a day.", "Mrs. Jones"),
    ],
)
def test_it_flags_patient_information(text, words):
    assert caught(text) == [("patient_information", words)]


def test_it_lets_through_what_to_send_about_a_patient():
    text = "Please send the patient's name, date of birth, insurance card and recent notes."
    assert caught(text) == []


def test_it_gives_each_flag_its_rule_explanation_and_position():
    text = "Great news: we guarantee 100% satisfaction."

    flags = claims_check(text)

    assert [(f.rule, f.words) for f in flags] == [
        ("Guarantee", "guarantee"),
        ("Percentage without a source", "100%"),
        ("Promised outcome", "100% satisfaction"),
    ]
    for flag in flags:
        assert text[flag.start : flag.end] == flag.words
        assert flag.explanation
    assert flags[0].category_label == "Guarantee"


def test_it_matches_whole_words_only():
    assert caught("Secure fax and a procurement office.") == []  # "cure" inside words


def test_it_uses_only_active_rules_and_the_rules_as_edited(compliance):
    rule = ClaimRule.objects.get(name="Guarantee")
    claim_rule_save(
        rule=rule,
        user=compliance,
        name=rule.name,
        category=rule.category,
        pattern=rule.pattern,
        explanation=rule.explanation,
        active=False,
    )
    claim_rule_save(
        user=compliance,
        name="Fastest",
        category="superlative",
        pattern=r"fastest",
        explanation="Say how fast, measured.",
    )

    assert caught("We guarantee the fastest answer.") == [("superlative", "fastest")]
    assert ClaimRule.objects.get(name="Fastest").updated_by == compliance


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("(unclosed", "not a valid regular expression"), ("x?", "matches empty text")],
)
def test_it_refuses_a_rule_that_cannot_work(compliance, pattern, message):
    with pytest.raises(DomainError, match=message):
        claim_rule_save(
            user=compliance, name="Bad", category="guarantee", pattern=pattern, explanation="x"
        )
    assert not ClaimRule.objects.filter(name="Bad").exists()


def test_it_lets_only_compliance_edit_the_rules(liaison):
    with pytest.raises(NotAllowed):
        claim_rule_save(
            user=liaison, name="Mine", category="guarantee", pattern="sure", explanation="x"
        )


def test_it_checks_with_rules_given_without_a_database_read(django_assert_num_queries):
    rules = [
        rule_compile(
            name="Cash", category="referral_value", explanation="No cash.", pattern=r"cash"
        )
    ]
    with django_assert_num_queries(0):
        flags = claims_check("Cash back on referrals.", rules=rules)
    assert [(f.words, f.start, f.end) for f in flags] == [("Cash", 0, 4)]
