"""The services' API clients the web front's pages call, as page dependencies (made once, when
the app starts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.web.notifications_api import NotificationsApi
from services.web.portfolio_api import PortfolioApi
from services.web.scheduling_api import SchedulingApi


def scheduling(request: Request) -> SchedulingApi:
    api: SchedulingApi = request.app.state.scheduling
    return api


def portfolio(request: Request) -> PortfolioApi:
    api: PortfolioApi = request.app.state.portfolio
    return api


def notifications(request: Request) -> NotificationsApi:
    api: NotificationsApi = request.app.state.notifications
    return api


SchedulingDep = Annotated[SchedulingApi, Depends(scheduling)]
PortfolioDep = Annotated[PortfolioApi, Depends(portfolio)]
NotificationsDep = Annotated[NotificationsApi, Depends(notifications)]
