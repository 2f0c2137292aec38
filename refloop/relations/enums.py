from django.db import models


class ContactRole(models.TextChoices):
    REFERRAL_COORDINATOR = "referral_coordinator", "Referral coordinator"
    PRACTICE_LEADER = "practice_leader", "Practice leader"
    OFFICE_MANAGER = "office_manager", "Office manager"
    OTHER = "other", "Other"
