from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "reelm.accounts"
    label = "accounts"
