from django.urls import path

from estatecrm.crm import views

app_name = "crm"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("counts/", views.case_counts, name="counts"),
    path("bulk/", views.case_bulk, name="bulk"),
    path("export/", views.case_export, name="export"),
    path("new/", views.case_new, name="new"),
    path("duplicates/", views.duplicate_check, name="duplicate-check"),
    path("postal-code/", views.postal_lookup, name="postal-lookup"),
    path("<id:case_id>/", views.case_detail, name="detail"),
    path("<id:case_id>/edit/", views.case_edit, name="edit"),
    path("<id:case_id>/desired/", views.desired_edit, name="desired"),
    path("<id:case_id>/customer/", views.customer_edit, name="customer"),
    path("<id:case_id>/contacts/new/", views.contact_edit, name="contact-add"),
    path("<id:case_id>/contacts/<id:contact_id>/", views.contact_edit, name="contact-edit"),
    path("<id:case_id>/contacts/<id:contact_id>/remove/", views.contact_remove, name="contact-remove"),
    path("<id:case_id>/review/", views.case_review, name="review"),
    path("<id:case_id>/next-action/", views.next_action_set, name="next-action"),
    path("<id:case_id>/activities/", views.activity_add, name="activity-add"),
    path("<id:case_id>/visits/", views.visit_book, name="visit-book"),
    path("<id:case_id>/visits/<id:activity_id>/complete/", views.visit_complete, name="visit-complete"),
    path("<id:case_id>/attachments/", views.attachment_upload, name="attachment-upload"),
    path("<id:case_id>/attachments/<id:attachment_id>/", views.attachment_download, name="attachment-download"),
    path("<id:case_id>/trash/", views.case_trash, name="trash"),
]
