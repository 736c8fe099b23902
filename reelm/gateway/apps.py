from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "reelm.gateway"
    label = "gateway"
