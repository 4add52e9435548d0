from django import forms


class KeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        label="Name",
        widget=forms.TextInput(attrs={"placeholder": "e.g. production, laptop", "autocomplete": "off"}),
    )


class ModelDeleteForm(forms.Form):
    name = forms.CharField(max_length=100)
