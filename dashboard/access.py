"""Who may see a dashboard page, and how refusals look: a key holder sees only their account's objects.

Another account's object is a 404 page, exactly like a missing one, as in the API.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from accounts.models import Account
from accounts.services import get_or_create_account
from reflex_project.api.errors import ApiError, AuthenticationError, NotFound, response_for

View = Callable[..., HttpResponseBase]


def user_of(request: HttpRequest) -> User:
    user = request.user
    assert user.is_authenticated, "page and json_endpoint let no anonymous request through"
    return user


def account_of(request: HttpRequest) -> Account:
    return get_or_create_account(user=user_of(request))


def page(view: View) -> View:
    """A logged-in HTML page; a missing or foreign object renders the dashboard's 404 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except (Http404, NotFound):
            return render(request, "dashboard/not_found.html", status=404)

    return wrapper


def json_endpoint(view: View) -> View:
    """A logged-in JSON endpoint for the pages' scripts: errors leave in the API's shape, never as a
    login redirect the script could not read."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return response_for(AuthenticationError("Log in to the dashboard first.", code="not_logged_in"))
        try:
            return view(request, *args, **kwargs)
        except ApiError as error:
            return response_for(error)
        except Http404:
            return response_for(NotFound("Not found."))

    return wrapper
