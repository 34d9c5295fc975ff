"""The default geography: the largest French urban areas, for a retailer operating in France.

Populations are rounded urban-area figures (INSEE unités urbaines, early 2020s); they only weight where
stores, warehouses and customers are, so a few percent of error changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class City:
    name: str
    lat: float
    lon: float
    population: int


FRENCH_CITIES: tuple[City, ...] = (
    City("Paris", 48.8566, 2.3522, 10_800_000),
    City("Lyon", 45.7640, 4.8357, 1_700_000),
    City("Marseille", 43.2965, 5.3698, 1_600_000),
    City("Lille", 50.6292, 3.0573, 1_050_000),
    City("Toulouse", 43.6047, 1.4442, 1_000_000),
    City("Bordeaux", 44.8378, -0.5792, 950_000),
    City("Nice", 43.7102, 7.2620, 940_000),
    City("Nantes", 47.2184, -1.5536, 670_000),
    City("Montpellier", 43.6108, 3.8767, 610_000),
    City("Toulon", 43.1242, 5.9280, 580_000),
    City("Strasbourg", 48.5734, 7.7521, 500_000),
    City("Lens", 50.4329, 2.8330, 500_000),
    City("Rouen", 49.4432, 1.0999, 470_000),
    City("Avignon", 43.9493, 4.8055, 460_000),
    City("Grenoble", 45.1885, 5.7245, 450_000),
    City("Saint-Étienne", 45.4397, 4.3872, 370_000),
    City("Rennes", 48.1173, -1.6778, 360_000),
    City("Tours", 47.3941, 0.6848, 360_000),
    City("Valenciennes", 50.3570, 3.5235, 350_000),
    City("Nancy", 48.6921, 6.1844, 290_000),
    City("Metz", 49.1193, 6.1757, 290_000),
    City("Bayonne", 43.4929, -1.4748, 290_000),
    City("Orléans", 47.9030, 1.9093, 280_000),
    City("Clermont-Ferrand", 45.7772, 3.0870, 270_000),
    City("Nîmes", 43.8367, 4.3601, 260_000),
    City("Dijon", 47.3220, 5.0415, 250_000),
    City("Mulhouse", 47.7508, 7.3359, 250_000),
    City("Angers", 47.4784, -0.5632, 230_000),
    City("Le Havre", 49.4944, 0.1079, 230_000),
    City("Annecy", 45.8992, 6.1294, 230_000),
    City("Reims", 49.2583, 4.0317, 220_000),
    City("Caen", 49.1829, -0.3707, 210_000),
    City("Brest", 48.3904, -4.4861, 210_000),
    City("Le Mans", 48.0061, 0.1996, 200_000),
    City("Perpignan", 42.6887, 2.8948, 200_000),
    City("Pau", 43.2951, -0.3708, 200_000),
    City("Limoges", 45.8336, 1.2611, 190_000),
    City("Besançon", 47.2378, 6.0241, 180_000),
    City("Amiens", 49.8941, 2.2958, 160_000),
    City("La Rochelle", 46.1603, -1.1511, 160_000),
    City("Poitiers", 46.5802, 0.3404, 130_000),
)
