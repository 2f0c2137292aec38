"""The default claims rules (content.claims explains their design). Compliance reviewers edit
them on /content/rules/; this only seeds a database that has none of these names yet."""

from django.db import migrations

SOURCE = r"sources?\s*:|according\s+to|\[\d+\]|\bdoi\s*:|\bcited\b|\bref\.?\s*:"
NUMBER_WORD = r"one|two|three|four|five|six|seven|eight|nine|ten"
DEFAULT_RULES = [
    # (name, category, pattern, unless, explanation)
    (
        "Guarantee",
        "guarantee",
        r"guarantee(?:s|d|ing)?|promise(?:s|d)?\s+(?:you|your\s+patients?|an?\s+appointment)",
        "",
        "Outcomes and access cannot be guaranteed: say what we aim for, and let the measured "
        "turnaround beside the text speak for itself.",
    ),
    (
        "No wait",
        "guarantee",
        r"no[\s-]+wait(?:s|ing)?(?:[\s-]+(?:lists?|times?))?|zero[\s-]+wait(?:s|ing)?"
        r"|without\s+(?:any\s+)?wait(?:ing)?|wait[\s-]+free|same[\s-]day\s+appointments?\s+for\s+(?:all|every(?:one)?)",
        "",
        "A promise of access the practice may not keep: the provider page shows measured days "
        "to appointment instead.",
    ),
    (
        "Promised outcome",
        "guarantee",
        r"risk[\s-]+free|cure[sd]?|100\s?%\s+(?:safe|effective|success(?:ful)?|satisf\w*)"
        r"|(?:painless|permanent)\s+(?:results?|relief|fix)",
        "",
        "Clinical outcomes vary: no promise of a cure, a risk-free treatment or certain results.",
    ),
    (
        "Superlative",
        "superlative",
        r"(?<!at\s)best(?![\s-]+(?:practices?|regards|wishes)\b)|#\s?1|no\.\s?1|number\s+one"
        r"|leading(?!\s+to\b)|top[\s-]+(?:rated|ranked)|world[\s-]+class|finest|unmatched"
        r"|unrivall?ed|unparall?eled|premier|most\s+(?:experienced|advanced|trusted)",
        SOURCE + r"|\branked\b[^.!?\n]*\bby\b",
        "An unqualified superlative: name who ranked it and when, or say it plainly without the "
        "comparison.",
    ),
    (
        "Percentage without a source",
        "statistic",
        r"\d+(?:[.,]\d+)?\s?(?:%|per\s?cent)",
        SOURCE,
        'A statistic needs its source in the same sentence ("Source: ..." or a reference).',
    ),
    (
        "N out of N without a source",
        "statistic",
        rf"(?:\d+|{NUMBER_WORD})\s+(?:out\s+of|in)\s+(?:every\s+)?(?:\d+|{NUMBER_WORD}|a\s+hundred)",
        SOURCE,
        'A statistic needs its source in the same sentence ("Source: ..." or a reference).',
    ),
    (
        "Comparison figure without a source",
        "statistic",
        r"\d+(?:\.\d+)?\s?(?:x|times)\s+(?:faster|better|more|less|fewer|higher|lower|quicker|sooner)",
        SOURCE,
        "A comparison figure needs its source in the same sentence.",
    ),
    (
        "Gift cards and cash",
        "referral_value",
        r"gift[\s-]+(?:cards?|certificates?|baskets?)|cash|vouchers?|prepaid\s+cards?"
        r"|rewards?|prizes?|raffles?|sweepstakes",
        "",
        "Anything of value offered to referrers is regulated (Anti-Kickback Statute, Stark): "
        "cash and cash equivalents are never allowed; gifts go through the gift ledger.",
    ),
    (
        "Free for referrals",
        "referral_value",
        r"free\s[^.!?\n]{0,60}?\bfor\s+(?:your\s+|every\s+|each\s+|any\s+|all\s+)?"
        r"(?:new\s+)?referr(?:al|als|ing)",
        "",
        "Offering something free tied to referrals is value in exchange for referrals.",
    ),
    (
        "In exchange for referrals",
        "referral_value",
        r"(?:in\s+(?:exchange|return)|as\s+(?:a\s+)?thanks?|to\s+thank\s+you)\s+for\s+"
        r"(?:your\s+|any\s+|every\s+|each\s+|all\s+)?(?:new\s+)?referr(?:al|als|ing)"
        r"|(?:per|for\s+(?:each|every))\s+(?:new\s+)?referral"
        r"|refer\s[^.!?\n]{0,40}?\band\s+(?:get|receive|earn|win)",
        "",
        "Value in exchange for referrals (Anti-Kickback Statute): education and access "
        "information are fine, rewards for sending patients are not.",
    ),
    (
        "Date of birth",
        "patient_information",
        r"(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s?date|born(?:\s+on)?)\s*[:\-]?\s*"
        r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}",
        "",
        "A patient's date of birth: marketing content never carries patient information.",
    ),
    (
        "Medical record number",
        "patient_information",
        r"(?:mrn|medical\s+record\s+(?:number|no\.?|#))\s*[:#]?\s*[a-z]{0,3}\d{4,}",
        "",
        "A medical record number: marketing content never carries patient information.",
    ),
    (
        "Social Security number",
        "patient_information",
        r"\d{3}-\d{2}-\d{4}",
        "",
        "Looks like a Social Security number: marketing content never carries patient information.",
    ),
    (
        "Patient named",
        "patient_information",
        r"(?-i:[Pp]atients?|[Pp]t\.?)\s+(?:named\s+|called\s+)?(?-i:[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z]+)"
        r"|(?:mr|mrs|ms|miss)\.?\s+(?-i:[A-Z][a-z]+)",
        "",
        "A patient's name (or a title and surname): testimonials and stories need the patient's "
        "written authorisation and a compliance decision; the text should not name anyone.",
    ),
]


def rules_seed(apps, schema_editor):
    ClaimRule = apps.get_model("content", "ClaimRule")
    have = set(ClaimRule.objects.values_list("name", flat=True))
    ClaimRule.objects.bulk_create(
        ClaimRule(
            name=name, category=category, pattern=pattern, unless=unless, explanation=explanation
        )  # fmt: skip
        for name, category, pattern, unless, explanation in DEFAULT_RULES
        if name not in have
    )


def rules_unseed(apps, schema_editor):
    ClaimRule = apps.get_model("content", "ClaimRule")
    ClaimRule.objects.filter(name__in=[rule[0] for rule in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("content", "0002_review_audit_and_claim_rules")]

    operations = [migrations.RunPython(rules_seed, rules_unseed)]
