"""THE hand-written lexicon of the stand-ins: en, de, cs, is, zh, ru, uk in their own script (Sec. 4's languages in
miniature; issue 14). The mini world (`mini_world`) and the rehearsal's sentences (`sentences`) both read it.

Real words in each language's own script: subjects (noun phrases with a natural gender, and personal
names shared across languages: a bridge real text has), verbs with the objects they take (accusative
forms written out), places (cities and "room N" with a number), times (word times and clock times with
digits) and predicate attributes (gendered forms where the language inflects them). Two sentence kinds,
an action (S V O P T) and a state (S is A P T), each optionally with the time fronted, realised in every
language's own word order (German and Icelandic verb-second, Chinese S-T-P-V-O). Columns follow LANGS.
The mini world draws entries by index and by the size of each tuple, so a new row changes its text: words
only the rehearsal needs go in tuples of their own (BECAUSE), which the mini world never reads.
"""

from __future__ import annotations

__all__ = ["LANGS", "SUBJECTS", "NAMES", "VERBS", "PLACES", "TIMES", "ATTRIBUTES", "COPULA", "FRONT_COMMA",
           "BECAUSE"]

LANGS: tuple[str, ...] = ("en", "de", "cs", "is", "zh", "ru", "uk")

Row = tuple[str, ...]  # one meaning in every language of LANGS

# (forms..., gender): sentence-initial forms; the first letter is lowered inside a sentence.
SUBJECTS: tuple[tuple[Row, str], ...] = (
    (("The old man", "Der alte Mann", "Starý muž", "Gamli maðurinn", "老人", "Старик", "Старий чоловік"), "m"),
    (("My sister", "Meine Schwester", "Moje sestra", "Systir mín", "我的姐姐", "Моя сестра", "Моя сестра"), "f"),
    (("The teacher", "Der Lehrer", "Učitel", "Kennarinn", "老师", "Учитель", "Учитель"), "m"),
    (("Our neighbour", "Unser Nachbar", "Náš soused", "Nágranni okkar", "我们的邻居", "Наш сосед", "Наш сусід"), "m"),
    (("The young doctor", "Der junge Arzt", "Mladý lékař", "Ungi læknirinn", "年轻的医生", "Молодой врач",
      "Молодий лікар"), "m"),
    (("My father", "Mein Vater", "Můj otec", "Faðir minn", "我的父亲", "Мой отец", "Мій батько"), "m"),
    (("The little girl", "Das kleine Mädchen", "Malá holčička", "Litla stúlkan", "小女孩", "Маленькая девочка",
      "Маленька дівчинка"), "f"),
    (("Her brother", "Ihr Bruder", "Její bratr", "Bróðir hennar", "她的哥哥", "Её брат", "Її брат"), "m"),
    (("My mother", "Meine Mutter", "Moje matka", "Móðir mín", "我的母亲", "Моя мать", "Моя мати"), "f"),
    (("The grandmother", "Die Großmutter", "Babička", "Amman", "奶奶", "Бабушка", "Бабуся"), "f"),
    (("The farmer", "Der Farmer", "Farmář", "Bóndinn", "农民", "Фермер", "Фермер"), "m"),
    (("The nurse", "Die Krankenschwester", "Zdravotní sestra", "Hjúkrunarkonan", "护士", "Медсестра", "Медсестра"),
     "f"),
    (("His wife", "Seine Frau", "Jeho žena", "Konan hans", "他的妻子", "Его жена", "Його дружина"), "f"),
    (("The driver", "Der Fahrer", "Řidič", "Bílstjórinn", "司机", "Водитель", "Водій"), "m"),
    (("The pilot", "Der Pilot", "Pilot", "Flugmaðurinn", "飞行员", "Пилот", "Пілот"), "m"),
    (("The baker", "Der Bäcker", "Pekař", "Bakarinn", "面包师", "Пекарь", "Пекар"), "m"),
)

# Personal names: the Latin-script languages share the spelling, ru/uk/zh transliterate (a bridge, Sec. 4).
NAMES: tuple[tuple[Row, str], ...] = tuple(
    ((latin, latin, latin, latin, zh, ru, uk), gender)
    for latin, zh, ru, uk, gender in (
        ("Anna", "安娜", "Анна", "Анна", "f"), ("Maria", "玛丽亚", "Мария", "Марія", "f"),
        ("Eva", "伊娃", "Ева", "Єва", "f"), ("Laura", "劳拉", "Лаура", "Лаура", "f"),
        ("Julia", "尤利娅", "Юлия", "Юлія", "f"), ("Lena", "莲娜", "Лена", "Лена", "f"),
        ("Sara", "萨拉", "Сара", "Сара", "f"), ("Klara", "克拉拉", "Клара", "Клара", "f"),
        ("Martin", "马丁", "Мартин", "Мартін", "m"), ("Thomas", "托马斯", "Томас", "Томас", "m"),
        ("David", "大卫", "Давид", "Давид", "m"), ("Paul", "保罗", "Пауль", "Пауль", "m"),
        ("Oskar", "奥斯卡", "Оскар", "Оскар", "m"), ("Hugo", "雨果", "Гуго", "Гуго", "m"),
        ("Robert", "罗伯特", "Роберт", "Роберт", "m"), ("Jonas", "约纳斯", "Йонас", "Йонас", "m"),
    )
)

# (verb (3rd person singular), its objects): zh verbs that depend on the object carry it in the object ("").
VERBS: tuple[tuple[Row, tuple[Row, ...]], ...] = (
    (("reads", "liest", "čte", "les", "读", "читает", "читає"), (
        ("a book", "ein Buch", "knihu", "bók", "一本书", "книгу", "книжку"),
        ("the newspaper", "die Zeitung", "noviny", "blaðið", "报纸", "газету", "газету"),
        ("a magazine", "eine Zeitschrift", "časopis", "tímarit", "一本杂志", "журнал", "журнал"),
    )),
    (("buys", "kauft", "kupuje", "kaupir", "买", "покупает", "купує"), (
        ("fresh bread", "frisches Brot", "čerstvý chléb", "nýtt brauð", "新鲜的面包", "свежий хлеб", "свіжий хліб"),
        ("a new computer", "einen neuen Computer", "nový počítač", "nýja tölvu", "一台新电脑", "новый компьютер",
         "новий комп'ютер"),
        ("apples", "Äpfel", "jablka", "epli", "苹果", "яблоки", "яблука"),
        ("a pizza", "eine Pizza", "pizzu", "pítsu", "一个披萨", "пиццу", "піцу"),
    )),
    (("drinks", "trinkt", "pije", "drekkur", "喝", "пьёт", "п'є"), (
        ("hot coffee", "heißen Kaffee", "horkou kávu", "heitt kaffi", "热咖啡", "горячий кофе", "гарячу каву"),
        ("green tea", "grünen Tee", "zelený čaj", "grænt te", "绿茶", "зелёный чай", "зелений чай"),
        ("cold water", "kaltes Wasser", "studenou vodu", "kalt vatn", "冷水", "холодную воду", "холодну воду"),
        ("fresh milk", "frische Milch", "čerstvé mléko", "ferska mjólk", "新鲜的牛奶", "свежее молоко", "свіже молоко"),
    )),
    (("writes", "schreibt", "píše", "skrifar", "写", "пишет", "пише"), (
        ("a long letter", "einen langen Brief", "dlouhý dopis", "langt bréf", "一封长信", "длинное письмо",
         "довгого листа"),
        ("a short poem", "ein kurzes Gedicht", "krátkou báseň", "stutt ljóð", "一首短诗", "короткое стихотворение",
         "короткий вірш"),
        ("an email", "eine E-Mail", "e-mail", "tölvupóst", "一封电子邮件", "электронное письмо", "електронного листа"),
    )),
    (("opens", "öffnet", "otevírá", "opnar", "打开", "открывает", "відчиняє"), (
        ("the window", "das Fenster", "okno", "gluggann", "窗户", "окно", "вікно"),
        ("the door", "die Tür", "dveře", "dyrnar", "门", "дверь", "двері"),
        ("the box", "die Kiste", "krabici", "kassann", "箱子", "коробку", "коробку"),
    )),
    (("cooks", "kocht", "vaří", "eldar", "做", "готовит", "готує"), (
        ("dinner", "das Abendessen", "večeři", "kvöldmat", "晚饭", "ужин", "вечерю"),
        ("soup", "eine Suppe", "polévku", "súpu", "汤", "суп", "суп"),
        ("rice", "Reis", "rýži", "hrísgrjón", "米饭", "рис", "рис"),
    )),
    (("feeds", "füttert", "krmí", "fóðrar", "喂", "кормит", "годує"), (
        ("the dog", "den Hund", "psa", "hundinn", "狗", "собаку", "собаку"),
        ("the cat", "die Katze", "kočku", "köttinn", "猫", "кошку", "кішку"),
        ("the horses", "die Pferde", "koně", "hestana", "马", "лошадей", "коней"),
    )),
    (("cleans", "putzt", "uklízí", "þrífur", "打扫", "убирает", "прибирає"), (
        ("the kitchen", "die Küche", "kuchyni", "eldhúsið", "厨房", "кухню", "кухню"),
        ("the room", "das Zimmer", "pokoj", "herbergið", "房间", "комнату", "кімнату"),
        ("the garage", "die Garage", "garáž", "bílskúrinn", "车库", "гараж", "гараж"),
    )),
    (("visits", "besucht", "navštěvuje", "heimsækir", "参观", "посещает", "відвідує"), (
        ("the museum", "das Museum", "muzeum", "safnið", "博物馆", "музей", "музей"),
        ("the old castle", "die alte Burg", "starý hrad", "gamla kastalann", "古老的城堡", "старый замок",
         "старий замок"),
        ("the zoo", "den Zoo", "zoo", "dýragarðinn", "动物园", "зоопарк", "зоопарк"),
    )),
    (("studies", "lernt", "studuje", "lærir", "学习", "изучает", "вивчає"), (
        ("a new language", "eine neue Sprache", "nový jazyk", "nýtt tungumál", "一门新语言", "новый язык", "нову мову"),
        ("mathematics", "Mathematik", "matematiku", "stærðfræði", "数学", "математику", "математику"),
        ("history", "Geschichte", "dějiny", "sögu", "历史", "историю", "історію"),
    )),
    (("plays", "spielt", "hraje", "spilar", "", "играет", "грає"), (
        ("the piano", "Klavier", "na klavír", "á píanó", "弹钢琴", "на пианино", "на піаніно"),
        ("football", "Fußball", "fotbal", "fótbolta", "踢足球", "в футбол", "у футбол"),
        ("chess", "Schach", "šachy", "skák", "下国际象棋", "в шахматы", "у шахи"),
    )),
    (("sells", "verkauft", "prodává", "selur", "卖", "продаёт", "продає"), (
        ("an old car", "ein altes Auto", "staré auto", "gamlan bíl", "一辆旧车", "старую машину", "стару машину"),
        ("fresh fish", "frischen Fisch", "čerstvé ryby", "ferskan fisk", "新鲜的鱼", "свежую рыбу", "свіжу рибу"),
        ("flowers", "Blumen", "květiny", "blóm", "花", "цветы", "квіти"),
    )),
    (("paints", "malt", "maluje", "málar", "画", "рисует", "малює"), (
        ("a picture", "ein Bild", "obraz", "mynd", "一幅画", "картину", "картину"),
        ("a portrait", "ein Porträt", "portrét", "portrett", "一幅肖像", "портрет", "портрет"),
        ("a bird", "einen Vogel", "ptáka", "fugl", "一只鸟", "птицу", "птаха"),
    )),
    (("repairs", "repariert", "opravuje", "gerir", "修理", "чинит", "ремонтує"), (
        ("the bicycle", "das Fahrrad", "kolo", "við hjólið", "自行车", "велосипед", "велосипед"),
        ("the radio", "das Radio", "rádio", "við útvarpið", "收音机", "радио", "радіо"),
        ("the roof", "das Dach", "střechu", "við þakið", "屋顶", "крышу", "дах"),
    )),
    (("looks for", "sucht", "hledá", "leitar", "找", "ищет", "шукає"), (
        ("the keys", "die Schlüssel", "klíče", "að lyklunum", "钥匙", "ключи", "ключі"),
        ("a new flat", "eine neue Wohnung", "nový byt", "að nýrri íbúð", "一套新公寓", "новую квартиру",
         "нову квартиру"),
        ("a good job", "eine gute Arbeit", "dobrou práci", "að góðri vinnu", "一份好工作", "хорошую работу",
         "хорошу роботу"),
    )),
)

# Places; "{n}" is a room number (digits are shared by every language).
PLACES: tuple[Row, ...] = (
    ("in the garden", "im Garten", "na zahradě", "í garðinum", "在花园里", "в саду", "у саду"),
    ("at home", "zu Hause", "doma", "heima", "在家里", "дома", "вдома"),
    ("in the city", "in der Stadt", "ve městě", "í borginni", "在城里", "в городе", "у місті"),
    ("in the park", "im Park", "v parku", "í almenningsgarðinum", "在公园里", "в парке", "у парку"),
    ("at school", "in der Schule", "ve škole", "í skólanum", "在学校", "в школе", "у школі"),
    ("in the village", "im Dorf", "na vesnici", "í þorpinu", "在村子里", "в деревне", "у селі"),
    ("in the office", "im Büro", "v kanceláři", "á skrifstofunni", "在办公室", "в офисе", "в офісі"),
    ("at the station", "am Bahnhof", "na nádraží", "á stöðinni", "在车站", "на вокзале", "на вокзалі"),
    ("in the hotel", "im Hotel", "v hotelu", "á hótelinu", "在酒店", "в отеле", "у готелі"),
    ("in Berlin", "in Berlin", "v Berlíně", "í Berlín", "在柏林", "в Берлине", "у Берліні"),
    ("in Prague", "in Prag", "v Praze", "í Prag", "在布拉格", "в Праге", "у Празі"),
    ("in Reykjavik", "in Reykjavík", "v Reykjavíku", "í Reykjavík", "在雷克雅未克", "в Рейкьявике", "у Рейк'явіку"),
    ("in London", "in London", "v Londýně", "í London", "在伦敦", "в Лондоне", "у Лондоні"),
    ("in room {n}", "in Zimmer {n}", "v pokoji {n}", "í herbergi {n}", "在{n}号房间", "в комнате {n}", "у кімнаті {n}"),
)

# Times; "{h}:{m}" is a clock time.
TIMES: tuple[Row, ...] = (
    ("every morning", "jeden Morgen", "každé ráno", "á hverjum morgni", "每天早上", "каждое утро", "щоранку"),
    ("in the evening", "am Abend", "večer", "á kvöldin", "晚上", "вечером", "увечері"),
    ("on Sunday", "am Sonntag", "v neděli", "á sunnudaginn", "星期天", "в воскресенье", "у неділю"),
    ("on Monday", "am Montag", "v pondělí", "á mánudaginn", "星期一", "в понедельник", "у понеділок"),
    ("on Friday", "am Freitag", "v pátek", "á föstudaginn", "星期五", "в пятницу", "у п'ятницю"),
    ("after work", "nach der Arbeit", "po práci", "eftir vinnu", "下班以后", "после работы", "після роботи"),
    ("before breakfast", "vor dem Frühstück", "před snídaní", "fyrir morgunmat", "早饭前", "перед завтраком",
     "перед сніданком"),
    ("today", "heute", "dnes", "í dag", "今天", "сегодня", "сьогодні"),
    ("in winter", "im Winter", "v zimě", "á veturna", "冬天", "зимой", "взимку"),
    ("in summer", "im Sommer", "v létě", "á sumrin", "夏天", "летом", "влітку"),
    ("at night", "in der Nacht", "v noci", "á nóttunni", "夜里", "ночью", "вночі"),
    ("at {h}:{m}", "um {h}:{m}", "v {h}:{m}", "klukkan {h}:{m}", "{h}:{m}", "в {h}:{m}", "о {h}:{m}"),
)

# Predicate attributes: "masculine|feminine" where the language inflects them (zh carries 很 as in real Chinese).
ATTRIBUTES: tuple[Row, ...] = (
    ("tired", "müde", "unavený|unavená", "þreyttur|þreytt", "很累", "усталый|усталая", "втомлений|втомлена"),
    ("happy", "glücklich", "šťastný|šťastná", "glaður|glöð", "很高兴", "счастливый|счастливая", "щасливий|щаслива"),
    ("sad", "traurig", "smutný|smutná", "dapur|döpur", "很难过", "грустный|грустная", "сумний|сумна"),
    ("hungry", "hungrig", "hladový|hladová", "svangur|svöng", "很饿", "голодный|голодная", "голодний|голодна"),
    ("busy", "beschäftigt", "zaneprázdněný|zaneprázdněná", "upptekinn|upptekin", "很忙", "занятой|занятая",
     "зайнятий|зайнята"),
    ("calm", "ruhig", "klidný|klidná", "rólegur|róleg", "很平静", "спокойный|спокойная", "спокійний|спокійна"),
    ("angry", "wütend", "naštvaný|naštvaná", "reiður|reið", "很生气", "сердитый|сердитая", "сердитий|сердита"),
    ("sick", "krank", "nemocný|nemocná", "veikur|veik", "病了", "больной|больная", "хворий|хвора"),
    ("nervous", "nervös", "nervózní|nervózní", "stressaður|stressuð", "很紧张", "нервный|нервная", "нервовий|нервова"),
    ("cheerful", "fröhlich", "veselý|veselá", "kátur|kát", "很开心", "весёлый|весёлая", "веселий|весела"),
    ("lonely", "einsam", "osamělý|osamělá", "einmana|einmana", "很孤独", "одинокий|одинокая", "самотній|самотня"),
    ("proud", "stolz", "hrdý|hrdá", "stoltur|stolt", "很自豪", "гордый|гордая", "гордий|горда"),
)

COPULA: dict[str, str] = {"en": "is", "de": "ist", "cs": "je", "is": "er", "zh": "", "ru": "", "uk": ""}
FRONT_COMMA: dict[str, str] = {"en": ", ", "zh": "，"}  # after a fronted time; the other languages use none

# Rehearsal only (App. J's XWinograd items, `sentences.item_records`); the mini world never reads it: "because" joining
# two clauses, with the punctuation before it.
BECAUSE: dict[str, str] = {"en": ", because", "de": ", denn", "cs": ", protože", "is": ", af því að", "zh": "，因为",
                           "ru": ", потому что", "uk": ", тому що"}
