from django.apps import AppConfig


class SlotsConfig(AppConfig):
    name = "slots"
    verbose_name = "Doctors and slots"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from slots import signals
        from slots.models import Doctor, Slot

        for model in (Doctor, Slot):
            post_save.connect(signals.listing_changed, sender=model)
            post_delete.connect(signals.listing_changed, sender=model)
