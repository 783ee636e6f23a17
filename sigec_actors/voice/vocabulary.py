"""Keywords of the offline recognizer (accent-free, lower case), PT-BR and EN together.

Each group is a set of words one of which must appear; typos reach them through rapidfuzz.
"""

from __future__ import annotations

from typing import Final

START: Final = frozenset({"inicia", "iniciar", "inicie", "comeca", "comecar", "comece", "liga",
                          "ligar", "start", "begin", "quero", "carregar", "carrega", "plug"})
STOP: Final = frozenset({"para", "parar", "pare", "encerra", "encerrar", "encerre", "termina",
                         "terminar", "finaliza", "finalizar", "interrompe", "interromper",
                         "stop", "end", "finish", "halt", "desliga", "desligar"})
CHARGING: Final = frozenset({"recarga", "carregamento", "carregar", "carrega", "sessao",
                             "charging", "charge", "session", "recharge"})
STATUS: Final = frozenset({"status", "como", "andamento", "situacao", "progresso", "progress",
                           "going", "falta", "state"})
WALLET: Final = frozenset({"saldo", "carteira", "balance", "wallet", "creditos", "credit"})
MONEY: Final = frozenset({"reais", "real", "r$", "brl", "pix", "dinheiro", "money", "bucks"})
ADD: Final = frozenset({"coloca", "colocar", "coloque", "adiciona", "adicionar", "adicione",
                        "deposita", "depositar", "deposite", "recarregar", "recarrega", "top",
                        "add", "deposit", "load", "put"})
NEAR: Final = frozenset({"perto", "proximo", "proximos", "proxima", "proximas", "near",
                         "nearby", "nearest", "closest", "around", "onde", "where"})
STATIONS: Final = frozenset({"carregador", "carregadores", "estacao", "estacoes", "posto",
                             "postos", "ponto", "pontos", "station", "stations", "charger",
                             "chargers", "eletroposto", "eletropostos"})
RESERVE: Final = frozenset({"reserva", "reservar", "reserve", "book", "hold", "segura"})
PRICE: Final = frozenset({"preco", "price", "pld", "custa", "cost", "tarifa", "valor"})
GRID: Final = frozenset({"energia", "rede", "grid", "electricity", "eletricidade", "agora",
                         "now", "kwh", "mwh", "hora", "hour"})
V2G: Final = frozenset({"v2g", "descarga", "descarregar", "descarregue", "descarrega",
                        "vender", "vende", "venda", "discharge", "discharging", "sell",
                        "selling", "injetar", "exportar", "export"})
EARN: Final = frozenset({"ganhei", "ganho", "ganhos", "rendeu", "renderam", "faturei",
                         "earn", "earned", "earnings", "made", "make", "income", "paid"})
HELP: Final = frozenset({"ajuda", "help", "socorro", "comandos", "commands", "faz", "do"})
YES: Final = frozenset({"sim", "confirmo", "confirma", "confirmar", "pode", "claro", "isso",
                        "yes", "yeah", "yep", "confirm", "ok", "okay", "sure", "correct"})
NO: Final = frozenset({"nao", "cancela", "cancelar", "deixa", "no", "nope", "cancel", "dont",
                       "negative", "esquece"})
CONNECTOR: Final = frozenset({"conector", "connector", "tomada", "plug", "evse", "porta",
                              "socket", "saida"})
PERCENT: Final = frozenset({"%", "percent", "porcento", "pct"})
FLOOR: Final = frozenset({"ate", "minimo", "min", "floor", "down", "limite", "keep", "deixando",
                          "mantendo", "least"})
KM: Final = frozenset({"km", "quilometros", "quilometro", "kilometers", "kilometres", "kms"})
PERIODS: Final = {"hoje": "day", "today": "day", "dia": "day", "day": "day",
                  "semana": "week", "week": "week", "mes": "month", "month": "month",
                  "total": "all", "sempre": "all", "ever": "all", "tudo": "all", "all": "all"}

ALL: Final = frozenset().union(
    START, STOP, CHARGING, STATUS, WALLET, MONEY, ADD, NEAR, STATIONS, RESERVE, PRICE, GRID,
    V2G, EARN, HELP, YES, NO, CONNECTOR, FLOOR, KM, PERIODS)
