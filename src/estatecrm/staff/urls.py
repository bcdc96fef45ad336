from django.urls import path

from estatecrm.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.home, name="home"),
    path("<id:user_id>/transfer/", views.transfer, name="transfer"),
    path("<id:user_id>/retire/", views.retire, name="retire"),
    path("<id:user_id>/cases/", views.cases, name="cases"),
    path("<id:user_id>/successor/", views.set_successor, name="set_successor"),
    path("history/", views.history, name="history"),
    path("history/<id:pk>/", views.history_detail, name="history_detail"),
    path("history/<id:pk>/undo/", views.history_undo, name="history_undo"),
]
