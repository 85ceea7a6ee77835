"""A small multilingual cue lexicon (nb, nn, da, sv, en), written from language knowledge.

Each category lists words and phrases that signal a behaviour or an attitude, or that tell two
look-alike labels apart (``sympathy_to_hear`` is empathy, not apology; ``records`` is the agent
reading its own systems, not a paraphrase; ``offer`` is a solution, not a question). A head sees
how often each category occurs in a turn and in the other party's previous turn; it learns the
weights, so a cue that misleads costs little.

Matching (see ``LexiconMatcher``): text is NFC-normalised, case-folded and its spaces collapsed.
A term matches at a word start; it must end at a word end unless it ends in ``*`` (a prefix:
``beklag*`` matches "beklager", "beklagar", "beklagelse"). A term that starts with a symbol
(``?``, an emoji) matches anywhere. The lexicon a model was trained with is stored in its
metadata, so a model never meets cues other than those it learned on.
"""
from __future__ import annotations

import re
from typing import Iterator, Mapping, Sequence

import numpy as np

from .lexical import normalise

DEFAULT_LEXICON: dict[str, list[str]] = {
    # ---- agent behaviours -------------------------------------------------------------------
    "apology": [
        "beklag*", "unnskyld*", "unskyld*", "orsak", "orsaka", "orsakar", "undskyld*", "ursäkt*", "förlåt*",
        "sorry", "apolog*", "ber om ursäkt", "ber om unnskyldning", "be om orsaking",
        "lei meg for", "lei for det", "leid for", "ked af det", "det er jeg ked af", "det er eg lei for",
        "vår feil", "vår skyld", "vores fejl", "vores skyld", "vårt fel", "vår miss", "vores ansvar",
        "feil hos oss", "feil hjå oss", "feil frå vår side", "feil fra vår side", "fejl hos os", "fel hos oss",
        "fel från vår sida", "our mistake", "our fault", "our error", "on us", "on our side", "our end",
        "ikke godt nok", "ikkje godt nok", "ikke i orden", "ikkje i orden", "ikke okay", "inte okej",
        "inte bra gjort", "inte acceptabelt", "not good enough", "not acceptable",
        "burde vi", "burde me", "burde vi have", "borde vi", "skulle vi", "skulle ha", "skulle have",
        "should have", "shouldn't have", "should not have", "let you down", "svikta", "svikte", "sveket",
        "det skulle ikke", "det skal ikkje", "det skal ikke", "det ska inte", "det skal ikke ske",
        "det er vi som", "det er me som", "det är vi som", "we got it wrong", "we dropped the ball",
    ],
    "sympathy_to_hear": [
        "å høre", "å høyre", "at høre", "att höra", "to hear", "leit å", "leitt å", "trist å",
        "ked af at høre", "ærgerligt at høre", "tråkigt att höra", "sorry to hear",
    ],
    "empathy": [
        "forstår*", "forstå", "skjønn*", "skjøn*", "förstår*", "understand*", "kan tenke meg", "kan tenkje meg",
        "kan forestille", "kan tänka mig", "can imagine", "frustr*", "stress*", "kjip*", "surt", "træls*",
        "tråkig*", "leit", "leitt", "ærgerlig*", "irriter*", "irritating", "annoying", "bekymr*", "oroli*",
        "orolig", "worr*", "fortvil*", "redd", "rädd", "bange", "scary", "frightening", "skummel*", "skremm*",
        "uff", "å nei", "åh nei", "åh nej", "å nej", "oh no", "oi", "usch", "huff",
        "må ha vært", "må ha vore", "må have været", "måste ha varit", "must have been", "must be",
        "det lyder", "det låter", "det høres", "det høyrest", "that sounds", "sounds like",
        "god bedring", "god betring", "krya på", "get well", "gratulerer", "gratulera", "tillykke", "grattis",
        "congrat*", "forståelig*", "förståelig*", "understandable", "naturlig*", "rimeleg", "rimelig",
        "helt rimelig", "fair enough", "raging", "nightmare", "rough", "headache", "awful", "horrible",
        "fryktelig", "frykteleg", "forferdelig", "forferdeleg", "frygtelig", "hemsk*", "fælt", "fælt", "jobbig*",
        "belastende", "belastande", "ubehagelig*", "obehaglig*", "vanskelig*", "vanskeleg*", "svårt",
        "i din situasjon", "i din situation", "in your situation", "i dine sko", "i dina skor", "in your shoes",
        "med god grunn", "med rette", "med rätta", "rightly",
    ],
    "paraphrase_check": [
        "har jeg forstått", "har jeg skjønt", "har eg forstått", "har eg skjønt", "har jeg forstået",
        "har jag förstått", "har jag fattat", "forstått deg rett", "forstått rett", "skjønt det rett",
        "forstået det rigtigt", "förstått dig rätt", "förstått rätt", "uppfattat", "oppfatta", "opfattet",
        "got that right", "have i got", "have i understood", "did i get", "understood correctly",
        "hvis jeg har forstått", "om jeg har forstått", "viss eg har forstått", "om eg har forstått",
        "hvis jeg har forstået", "om jag förstått", "om jag fattat", "if i understand", "if i've understood",
        "if i have understood", "just to check", "just to confirm", "just so i", "to make sure i", "let me check i",
        "stemmer det", "stemmer dette", "stämmer det", "er det rett", "er det riktig", "er det korrekt",
        "er det rigtigt", "är det rätt", "is that right", "is that correct", "right?", "correct?", "ikke sant",
        "ikkje sant", "ikke?", "ikkje?", "inte sant", "eller hur", "ikk?",
    ],
    "paraphrase_summary": [
        "så du", "så dere", "så de ", "så dykk", "så ni", "så i ", "so you", "so your", "so the", "so it",
        "altså", "alltså", "med andre ord", "med andra ord", "in other words", "du sier", "du seier", "du siger",
        "du säger", "you're saying", "you are saying", "you said", "du skreiv", "du skrev", "du nevnte",
        "du nemnde", "du nævnte", "du nämnde", "you mentioned", "you've", "du har", "dere har", "de har",
        "dykk har", "i har", "ni har", "you have", "du har altså", "du er altså", "du står", "du fikk",
        "du fekk", "du fik", "du fick", "you got", "you were", "du var", "du blei", "du ble", "du blev",
        "det du", "det som", "what matters", "det viktigaste", "det viktigste", "det vigtigste", "det viktigaste",
        "sounds like you", "det høres ut som du", "det låter som att du", "det lyder som om du",
    ],
    "records": [
        "jeg ser", "eg ser", "jeg kan se", "eg kan sjå", "jag ser", "jag kan se", "i can see", "i see that",
        "looking at", "i systemet", "in the system", "i vores system", "i vårt system", "records",
        "loggen", "logg*", "ifølge", "ifølgje", "enligt", "according to", "viser at", "visar att", "shows",
        "registrert", "registreret", "registrerad", "registered", "står registrert", "på kontoen", "på konto",
        "on your account", "on the account", "sporing*", "spårning*", "tracking",
    ],
    "question": [
        "kan du", "kan eg få", "kan jeg få", "kan jag få", "må jeg få", "må eg få", "får jeg", "får eg",
        "får jag", "kunne du", "kunde du", "could you", "can you", "can i have", "can i get", "may i",
        "hva er", "kva er", "hvad er", "vad är", "vad har", "what is", "what's", "hvilken", "hvilket",
        "hvilke", "kva for", "kva slags", "vilken", "vilket", "vilka", "which", "når", "hvornår", "när",
        "when", "hvor", "kvar", "kor", "var ", "where", "hvordan", "korleis", "hur", "how", "hvorfor",
        "kvifor", "varför", "why", "har du", "har dere", "har de", "har dykk", "har ni", "har i", "did you",
        "have you", "do you have", "er du", "er det", "var det", "är du", "are you", "is it", "brukte du",
        "nummer*", "nummeret", "nr", "number", "fødselsdato", "fødselsnummer", "personnummer", "fødselsdag",
        "adresse*", "adress*", "address", "postcode", "postnummer", "ordrenummer*", "ordrenr", "ordernummer*",
        "kundenummer*", "kundenr", "medlemsnummer*", "bookingnummer*", "bokningsnummer*", "referanse*",
        "e-post", "epost", "email", "e-mail", "mejl*", "mail", "telefonnummer*", "mobilnummer*", "bilde*",
        "bilete", "billede*", "bild", "bilder", "photo*", "picture*",
    ],
    "anything_else": [
        "noe mer", "noko meir", "noko anna", "noe annet", "noget andet", "andet jeg", "andet, jeg",
        "något mer", "något annat", "anything else", "something else", "hva kan jeg hjelpe", "kva kan eg hjelpe",
        "hvad kan jeg hjælpe", "vad kan jag hjälpa", "how can i help", "what can i do for you",
        "hjelpe deg med", "hjelpe deg med i dag", "hjælpe dig med", "hjälpa dig med", "help you with",
    ],
    "offer": [
        "skal jeg", "skal eg", "ska jag", "skall jag", "shall i", "should i", "vil du at", "vil du ha",
        "vil du have", "vill du att", "vill du ha", "would you like", "do you want", "ønsker du", "ønskjer du",
        "ønsker du at", "önskar du", "passer det", "passar det", "passer", "passar", "does that suit",
        "would that work", "works for you", "er det greit", "er det ok", "er det i orden", "går det bra",
        "how about", "hva med", "kva med", "hvad med", "vad sägs om",
    ],
    "solution": [
        "har nå", "har no", "har nu", "have now", "i've", "i have", "jeg har", "eg har", "jag har",
        "gjort", "ordnet", "ordna", "ordnat", "fikset", "fiksa", "fixat", "fixed", "sorted", "done", "klart",
        "ferdig", "færdig", "løst", "løyst", "löst", "solved", "resolved",
        "sender", "sendt", "sendte", "skickar", "skickat", "sending", "sent", "booket", "booka", "bookar",
        "bokat", "bokar", "booked", "booking", "bestilt", "bestilte", "beställt", "beställer", "ordered",
        "åpner", "opnar", "åbner", "öppnar", "opened", "opening", "aktivert", "aktiverat", "aktiveret",
        "activated", "låst opp", "låse opp", "låste opp", "låst upp", "låser op", "unlocked", "frigitt",
        "frigjeve", "frigivet", "frigett", "released", "refunder*", "återbetal*", "tilbakebetal*", "refund*",
        "tilbakeført", "ført tilbake", "tilbageført", "erstatt*", "ny ", "nye", "nytt", "replacement", "nytt kort",
        "prøv", "prøve", "prøv å", "prøva", "prova", "try", "restart*", "start om", "starte på nytt",
        "start han", "klikk*", "klik*", "click", "tap", "gå inn på", "gå in på", "go to", "min side", "mi side",
        "mina sidor", "mit", "appen", "the app", "skjema*", "formular*", "formulär*", "form", "kontakt*",
        "contact", "teknikar", "tekniker*", "technician", "engineer", "montør", "levering", "leverans",
        "delivery", "i morgen", "i morgon", "imorgen", "imorgon", "tomorrow", "i dag", "today",
        "med en gang", "med ein gong", "med det samme", "straks", "genast", "direkte", "right away", "now",
        "kan du", "du kan", "you can", "det går fint", "det går bra", "går fint", "that's fine", "ingår", "inkludert",
        "inkluderet", "included", "dekket", "dekka", "dækket", "täcks", "covered", "gjelder", "gjeld", "gælder",
        "gäller", "applies", "koster", "kostar", "kostnad", "costs", "kr", "£", "€", "$",
    ],
    "compensation": [
        "kompens*", "ersättning*", "rabatt*", "rabat*", "discount*", "prisavslag", "prisavslag*", "afslag i prisen",
        "prisnedsla*", "nedsättning", "price reduction", "avslag på", "gavekort*", "gåvokort*", "presentkort*",
        "gift card*", "giftcard", "voucher*", "kupong*", "kupon*", "rabattkod*", "rabatkode*", "code", "kode",
        "koden", "kod", "tilgodelapp*", "tilgodehavende", "tillgodo*", "tilgode", "kreditt", "kredit",
        "kreditere*", "krediter*", "kreditera*", "kreditering", "kreditnota", "credit*", "gratis", "free",
        "for free", "kostnadsfritt", "kostnadsfri", "uten kostnad", "utan kostnad", "uden beregning",
        "på huset", "on the house", "on us", "for bryet", "for brydderiet", "for bryderiet", "för besväret",
        "for the trouble", "for ulempen", "for ulempene", "for ulempa", "for ulempa", "for the inconvenience",
        "som plaster", "som et plaster", "som undskyldning", "som en unnskyldning", "som orsaking",
        "som ursäkt", "as an apology", "as a thank-you", "as a thank you", "goodwill", "gest", "gesture",
        "oven i", "på toppen", "i tillegg", "i tillegg til", "i tillägg", "i tilgift", "on top", "extra",
        "ekstra", "bonus*", "poeng", "point", "points", "trekker fra", "trekkjer", "trækker", "drar av",
        "drar bort", "take off", "taken off", "halv", "halve", "halva", "half", "en måned", "ein månad",
        "en månad", "a month", "a free month", "månedspris*", "månadspris*", "månadsavgift*", "månedsgebyr*",
        "middag", "dinner", "lounge", "frokost", "frukost", "morgenmad", "breakfast", "oppgrader*",
        "uppgrader*", "opgrader*", "upgrade*", "eu261", "eu 261", "eu-regler*", "eu-reglene", "eu regler",
        "eu-reglerna", "eu rules", "eu reglene", "eu reglerne", "flyrettigheter", "flight compensation",
        "ersatning", "erstatning for", "frakt*", "fragt*", "shipping", "postage", "gebyr", "avgift*", "fee",
    ],
    "thanks": [
        "takk*", "tak", "takker", "tack*", "thank*", "thanks", "thx", "ty", "cheers", "tusen takk",
        "tusind tak", "mange tak", "tack så mycket", "stort tack",
    ],
    "welcome": [
        "bare hyggelig", "berre hyggeleg", "så lidt", "det var så lidt", "selv tak", "velbekomme",
        "varsågod", "var så god", "ingen orsak", "ingen årsak", "you're welcome", "you are welcome",
        "no worries", "no problem", "ikke noe problem", "ikkje noko problem", "inget problem", "intet problem",
        "my pleasure", "glad to help", "glad i could help", "bare hyggeleg", "selv takk", "sjølv takk",
    ],
    "follow_up": [
        "ringer deg", "ringjer deg", "ringer dig", "ringer dykk", "ringer dere", "ringer jer", "ringer er",
        "ringa dig", "ringer tilbake", "ringe tilbake", "ringe deg", "ringje deg", "ringe dig", "ringe tilbage",
        "ringer tilbage", "ringer upp", "ringa upp", "ringa tillbaka", "ringer tillbaka", "ring you", "call you",
        "call back", "calling back", "i'll call", "i'll ring", "i'll text", "i'll email", "i'll e-mail",
        "i'll message", "i'll write", "i'll let you know", "i'll be in touch", "be in touch", "get back to you",
        "get in touch", "reach out", "contact you", "kontakter deg", "kontaktar deg", "kontakter dig",
        "kontaktar dig", "tar kontakt", "tek kontakt", "tager kontakt", "hører fra", "høyrer frå", "høre fra",
        "høyre frå", "hör av mig", "höra av mig", "hører fra os", "kommer tilbake til deg", "kjem tilbake til deg",
        "vender tilbage", "vender tilbake", "återkommer", "melder tilbake", "melder tilbage", "sender deg en",
        "sender deg ei", "sender deg ein", "sender dig en", "skickar ett sms", "skickar ett mejl", "text you",
        "email you", "message you", "sms når", "melding når", "besked når", "sms när", "when the",
        "når den", "når det", "når han", "når ho", "när den", "saksnummer*", "saksnr", "saksnummeret", "sak nr",
        "sagsnummer*", "sagsnr", "sags nr", "ärendenummer*", "ärendenr", "ärende-id", "case number*",
        "case ref", "case", "reference number", "referansenummer*", "referencenummer*", "referensnummer*",
        "ref", "ticket", "som lovet", "som lova", "som lovat", "som utlovat", "som lovede", "som lovat",
        "som aftalt", "som avtalt", "as promised", "as agreed", "følger opp", "følgjer opp", "følger op",
        "följer upp", "follow up", "following up", "follow-up", "sjekker igjen", "sjekkar igjen",
        "tjekker igen", "kollar igen", "check in", "check back", "on friday", "om to uker", "om to veker",
        "om to uger", "om två veckor", "om ei veke", "om en uke", "om en uge", "om en vecka", "rådgiver*",
        "rådgjevar*", "rådgivare*", "advisor", "adviser", "personlig", "personleg", "personally", "selv",
        "sjølv", "själv", "myself",
    ],
    "blame": [
        "ikke oss", "ikkje oss", "ikke os", "inte oss", "inte vi", "not us", "not ours", "not our",
        "ikke vår", "ikkje vår", "ikke vores", "inte vårt", "inte vår", "deres feil", "deira feil",
        "deres fejl", "deras fel", "their fault", "their end", "their side", "deres side", "deira side",
        "deras sida", "transportør*", "transportør", "transportör*", "fraktfirma*", "speditør*", "posten",
        "postnord", "bring", "budet", "budbil*", "kurer*", "courier", "dhl", "ups", "gls", "dao", "helthjem",
        "leverandør*", "leverantör*", "supplier", "partner*", "underleverandør*", "underleverantör*",
        "subcontractor", "third party", "tredjepart", "avdeling*", "afdeling*", "avdelning*", "department",
        "team", "teknisk", "teknik", "tech team", "technical team", "lager*", "warehouse", "systemet", "system",
        "kollega*", "colleague", "ekstrahjelp*", "vikar*", "ny medarbeider", "ny medarbetare",
        "ditt ansvar", "dit ansvar", "ditt ansvar", "your responsibility", "your own", "du skulle",
        "du burde", "du borde", "you should have", "you should've", "you didn't", "du har ikke", "du har ikkje",
        "du har inte", "ligger hos", "ligg hjå", "ligger hjå", "lies with", "out of our hands",
        "utenfor vår kontroll", "utanfor vår kontroll", "uden for vores", "utanför vår", "beyond our control",
        "ansvarlig*", "ansvaret", "ansvarleg*", "responsible", "ikke noe vi", "ikkje noko me", "ikke noget vi",
        "inget vi", "nothing we", "ikke noe jeg", "ikkje noko eg", "ikke noget jeg", "inget jag",
        "kan ikke gjøre noe", "kan ikkje gjere noko", "kan ikke gøre noget", "kan inte göra något",
        "nothing i can", "handled by", "håndteres av", "handterast av", "håndteres af", "hanteras av",
        "sin feil", "sin fejl", "sitt fel", "det er de", "det er dei", "det är de", "it's them", "that's them",
        "det var de", "it was the", "beror på", "skyldes", "kommer av", "due to", "because of",
    ],
    "refusal": [
        "dessverre", "dessverre ikke", "dessverre ikkje", "desværre", "tyvärr", "unfortunately", "i'm afraid",
        "i am afraid", "beklager, men", "beklagar, men", "sorry, but", "sorry but", "men vi kan ikke",
        "kan ikke", "kan ikkje", "kan inte", "cannot", "can't", "ikke mulig", "ikkje mogleg", "ikke muligt",
        "inte möjligt", "not possible", "ikke lov", "ikkje lov", "inte tillåtet",
    ],
    "contradiction": [
        "ifølge", "ifølgje", "enligt", "according to", "records show", "our records", "viser at", "visar att",
        "shows that", "show that", "showed", "står i", "stod i", "it says", "as stated", "vilkår*",
        "betingelse*", "villkor*", "terms", "conditions", "kontrakt*", "avtale*", "aftale*", "avtal*",
        "agreement", "contract", "korrekt*", "riktig*", "rigtig*", "rätt", "correct*", "stemmer ikke",
        "stemmer ikkje", "stämmer inte", "passer ikke", "that's not", "that is not", "not the case",
        "ikke tilfelle", "ikkje tilfelle", "ikke tilfældet", "inte fallet", "ikke riktig", "ikkje rett",
        "ikke rigtigt", "inte rätt", "isn't right", "nei,", "nei ", "nej,", "nej ", "no,", "no ", "faktisk",
        "actually", "står ved", "står fast", "står ved lag", "står kvar", "står fast vid", "stand by", "stands",
        "avslag*", "afslag*", "avslaget", "beslutning*", "beslutninga", "vedtak*", "beslut*", "decision",
        "vurdering*", "bedømmelse", "bedömning", "assessment", "ikke krav", "ikkje krav", "ikke ret til",
        "ikke rett til", "ikkje rett til", "inte rätt till", "not entitled", "not eligible", "no right",
        "bindingstid*", "bindingsperiode*", "bindningstid*", "opsigelsesperiode*", "oppsigelsestid*",
        "uppsägningstid*", "notice period", "no faults", "working fine", "works fine", "fungerer*",
        "fungerar*", "funker", "virker", "verkar", "levert", "leveret", "levererad*", "delivered", "aktiv*",
        "active", "gps", "data", "målinger*", "målingar*", "målingerne", "mätning*", "measurements",
        "før", "innen", "inden", "inom", "within", "ikke dekket", "ikkje dekka", "ikke dækket", "täcks inte",
        "not covered", "ingår inte", "ikke inkludert", "ikke inkluderet", "not included", "har rett til",
        "har ret til", "har rätt att", "har rätt till", "we are entitled", "berettiget", "berettiga",
    ],
    "improvement": [
        "ikke skje igjen", "ikkje skje igjen", "ikke skjer igjen", "ikkje skjer igjen", "ikke ske igen",
        "ikke sker igen", "inte hända igen", "inte händer igen", "inte ska hända", "won't happen again",
        "doesn't happen again", "does not happen again", "happen again", "happens again", "igjen", "igen",
        "again", "neste gang", "næste gang", "nästa gång", "next time", "fremover", "framover", "fremadrettet",
        "framöver", "fremtiden", "framtida", "framtiden", "in future", "in the future", "från och med nu",
        "fra nå av", "frå no av", "fra nu af", "from now on", "going forward", "endret", "endra", "ændret",
        "ændre", "ændrer", "ändrat", "ändra", "ändrar", "changed", "changing", "change", "rutine*", "rutin*",
        "routine*", "prosess*", "process*", "kontroll*", "kontrol*", "check", "checks", "innført", "innført",
        "innfører", "indført", "indfører", "infört", "inför", "introduced", "introducing", "new process",
        "oppdatert", "oppdatering", "opdater*", "uppdater*", "update", "rettet", "retta", "rättat", "rättats",
        "fix is", "a fix", "permanent*", "varig*", "for good", "notat", "note", "merknad", "notering",
        "anteckning", "flagg*", "flag", "opplæring", "oplæring", "utbildning", "training", "instruks*",
        "instrukser", "instruktion*", "instructions", "retningslinje*", "riktlinje*", "guidelines", "alle kunder",
        "alle kundar", "alla kunder", "all customers", "everyone", "automatisk*", "automatic*", "varsel",
        "varsling*", "notification*", "alert*", "så det ikke", "så det ikkje", "så det ikke", "så att det inte",
        "so that it", "so it doesn't", "so this doesn't", "so you won't", "slik at", "sånn at", "sådan at",
        "så att", "so that", "meldt fra internt", "meldt inn", "internt", "internally", "tavle", "skilt",
    ],
    # ---- customer attitudes ------------------------------------------------------------------
    "hostile": [
        "bytter", "bytte leverandør", "byter", "skifter", "sier opp", "seier opp", "siger op", "säger upp",
        "si opp", "seie opp", "sige op", "säga upp", "cancel*", "leaving", "switch*", "konkurrent*", "competitor*",
        "facebook", "trustpilot", "twitter", "instagram", "tiktok", "google", "anmeldelse*", "recension*",
        "review*", "vg", "tv2", "dagbladet", "aftonbladet", "ekstra bladet", "bt", "avisen", "avisa", "pressen",
        "press", "media", "advokat*", "lawyer*", "solicitor", "forbrukerråd*", "forbrukarråd*", "forbrugerråd*",
        "konsumentverket", "arn", "ankenævn*", "klagenemnd*", "nemnda", "reklamationsnämnd*", "ombudsman*",
        "ombud*", "politi*", "polis*", "police", "anmelde", "anmäla", "latterlig*", "latterleg*", "löjlig*",
        "ridiculous", "pathetic", "patetisk*", "joke", "vits", "en spøk", "skandal*", "scandal*", "uakseptab*",
        "uacceptab*", "oacceptab*", "unacceptable", "uholdbar*", "uhaldbar*", "ohållbar*", "inkompetent*",
        "incompetent", "idiot*", "amatør*", "amatör*", "amateur*", "svindel", "svindl*", "bedrag*", "bedrä*",
        "scam*", "fraud*", "tyv*", "stjel*", "stjæl*", "stjäl*", "stealing", "steal", "løgn*", "lögn*",
        "lyver", "lyg*", "lyv*", "ljug*", "lie", "lies", "lying", "liar*", "jævla", "jævlig*", "jævl*", "faen",
        "fanden", "fandens", "fan", "jävla", "jäkla", "helvete", "helvede", "bloody", "fucking", "fuck*",
        "damn", "shit", "crap", "useless", "ubrukelig*", "ubrukeleg*", "ubrugelig*", "värdelös*", "verdiløs*",
        "værdiløs*", "elendig*", "usel*", "katastrof*", "disaster", "takk for ingenting", "tak for ingenting",
        "tack för ingenting", "thanks for nothing", "forstår ingenting", "skjønar ingenting", "förstår ingenting",
        "forstår ingenting", "understand nothing", "gidder ikke", "gider ikke", "orkar inte", "can't be bothered",
        "seriøse", "seriøst", "seriøs", "seriously", "allvarligt", "på alvor", "hva driver dere", "kva driv de",
        "hvad laver i", "vad håller ni på", "what are you doing", "!!", "??", "👏", "😡", "🤬", "kjeltring*",
        "kjeltringar", "banditt*", "cowboys", "crooks",
    ],
    "sceptical": [
        "tror jeg ikke", "trur eg ikkje", "tror jeg ikkje", "tror jag inte", "tror jeg ikke på",
        "don't believe", "do not believe", "doubt*", "tvil*", "tvivl*", "tvivla*", "tvekar", "skeptisk*",
        "sceptical", "skeptical", "hørt før", "høyrt før", "hørt det før", "hört förut", "hört det förut",
        "hørt det", "heard that", "heard it", "sa dere sist", "sa de sist", "sagde i sidst", "sa ni förra",
        "sa ni sist", "sa dei", "sa de", "sagde i", "sagde de", "sa ni", "you said", "they said", "last time",
        "sist", "sidst", "førre gong", "forrige gang", "förra gången", "sist gang", "sidste gang", "vi får se",
        "me får sjå", "vi får väl se", "we'll see", "we will see", "believe it when", "tror det når",
        "trur det når", "bevis*", "prove", "proof", "dokumentasjon", "dokumentation", "documentation",
        "hvordan kan jeg vite", "korleis kan eg vite", "hvordan ved jeg", "hur vet jag", "how do i know",
        "how can i be sure", "how can i trust", "sikker på", "säker på", "sure", "garanti*", "guarantee*",
        "lover du", "lovar du", "lover du det", "lovar du det", "lovar ni", "promise", "virkelig", "verkeleg",
        "verkligen", "really", "faktisk", "actually", "igjen", "igjen?", "igen", "again", "hmm", "hm",
        "mistenk*", "misstänk*", "suspicious", "suspect", "påstå*", "claim*", "skal man tro", "ska man tro",
        "ja ja", "jaja", "jaha", "🙃", "😅", "🙄", "😒", "vel", "väl", "mon", "monstro", "ikke fått", "ikkje fått",
        "har ikke", "har ikkje", "har inte", "har ikke fået", "aldri", "aldrig", "never", "never got",
        "ingen melding", "ingen besked", "inget meddelande", "no message", "hvorfor", "kvifor", "hvorfor",
        "varför", "why", "how come", "hvordan kan", "korleis kan", "hur kan", "how can", "hva hvis", "kva om",
        "hvad hvis", "tänk om", "what if", "og hvis", "og viss", "og hvis", "och om", "and if",
    ],
    "loyal": [
        "tusen takk", "tusind tak", "tack så mycket", "tack så hemskt", "stort tack", "tusen tack",
        "mange takk", "mange tak", "thank you so much", "thanks so much", "thanks a lot", "thanks a million",
        "takk for hjelpa", "takk for hjelpen", "takk for hjelp", "tak for hjælpen", "tak for hjælp",
        "tack för hjälpen", "tack för hjälp", "thanks for your help", "thanks for the help",
        "thank you for your help", "takk for rask", "tak for hurtig", "tack för snabb", "thanks for sorting",
        "best", "bäst", "bedste", "beste", "kjempe*", "kjempebra", "strålende", "strålande", "flink*", "dyktig*",
        "dygtig*", "duktig*", "jättebra", "toppen", "super", "supert", "great", "brilliant", "stars", "star",
        "amazing", "fantastic", "fantastisk*", "wonderful", "excellent", "perfekt", "perfect", "flott",
        "anbefal*", "rekommend*", "recommend*", "kunde i", "kunde sidan", "kunde siden", "kunde hos", "kunde hjå",
        "customer for", "customer since", "medlem i", "medlem sidan", "member for", "member since",
        "trofast*", "lojal*", "loyal", "guldkort*", "gullkort*", "sånt skjer", "slikt skjer", "sånt händer",
        "sånt hender", "sånn er det", "sådan noget sker", "det sker", "det skjer", "things happen", "it happens",
        "ingen krise", "ikke noe problem", "no worries", "ikke din feil", "ikkje din feil", "inte ditt fel",
        "ikke din skyld", "ikke din fejl", "not your fault", "wasn't your fault", "unnskyld at jeg",
        "orsak at eg", "undskyld jeg", "undskyld at jeg", "förlåt att jag", "sorry for shouting",
        "sorry for being", "sorry i was", "hyggelig*", "hyggeleg*", "trevlig*", "venlig*", "vennlig*",
        "kind", "nice", "lovely", "glad", "glede", "glæde", "glädje", "happy", "fornøgd", "fornøyd", "tilfreds",
        "nöjd", "satisfied", "impressed", "imponert", "imponeret", "imponerad", "wow", "😊", "🙏", "❤", "💪",
        "😍", "🥰", "👍", "🙌", "😄", "igjen", "att", "again", "come back", "komme tilbake", "kome att",
        "kommer tilbage", "komma tillbaka", "leier", "leiger", "lejer", "hyr", "bestiller", "handler",
        "handlar", "shop", "ryddig", "proft", "profesjonelt", "professionel*", "professional*",
    ],
}


_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Words and single symbols of the normalised text: "Takk!" -> ["takk", "!"]."""
    return _TOKEN.findall(normalise(text))


_PREFIX_CACHE_SIZE = 200_000


class LexiconMatcher:
    """Counts of every category's terms in a text, as an array in category order.

    Terms are matched as token sequences (a prefix term's last token may be any word that starts
    with it), so counting is a dictionary look-up per token, not a scan per term.
    """

    def __init__(self, lexicon: Mapping[str, Sequence[str]]) -> None:
        self.lexicon = {k: list(dict.fromkeys(v)) for k, v in lexicon.items()}
        self.categories = tuple(self.lexicon)
        # single-token prefixes -> [category index]
        self._prefix: dict[str, list[int]] = {}
        self._max_prefix = 0
        self._prefix_cache: dict[str, tuple[int, ...]] = {}
        # Every other term, keyed on its first token (one-token terms, two-token terms whose last token is a
        # prefix) or on its first two: a word like "jeg" starts hundreds of longer terms, and trying each of
        # them at every "jeg" was most of the matcher's time. ``order`` is the term's place among those of its
        # first token, so that one token's matches come out in lexicon order.
        self._single: dict[str, list[tuple[int, int]]] = {}
        self._stems: dict[str, list[tuple[int, str, int]]] = {}
        self._pairs: dict[tuple[str, str], list[tuple[int, tuple[str, ...], bool, int]]] = {}
        terms_of: dict[str, int] = {}
        for ci, cat in enumerate(self.categories):
            for term in self.lexicon[cat]:
                prefix = term.endswith("*")
                toks = tokens(term[:-1] if prefix else term)
                if not toks:
                    continue
                if prefix and len(toks) == 1:
                    self._prefix.setdefault(toks[0], []).append(ci)
                    self._max_prefix = max(self._max_prefix, len(toks[0]))
                    continue
                first, rest = toks[0], tuple(toks[1:])
                order = terms_of[first] = terms_of.get(first, -1) + 1
                if not rest:
                    self._single.setdefault(first, []).append((order, ci))
                elif len(rest) == 1 and prefix:
                    self._stems.setdefault(first, []).append((order, rest[0], ci))
                else:
                    self._pairs.setdefault((first, rest[0]), []).append((order, rest[1:], prefix, ci))
        # the tokens a term of more than a prefix starts with: most of a text's tokens start none
        self._starts = frozenset(self._single) | frozenset(self._stems) | frozenset(a for a, _ in self._pairs)

    def _matches(self, toks: Sequence[str]) -> Iterator[tuple[int, int, int]]:
        """(first token, token after the last, category index) of every term found in ``toks``."""
        n = len(toks)
        for i, tok in enumerate(toks):
            if tok not in self._starts:
                for ci in self._prefix_hits(tok) if self._prefix else ():
                    yield i, i + 1, ci
                continue
            found = [(order, i + 1, ci) for order, ci in self._single.get(tok, ())]
            if i + 1 < n:
                second = toks[i + 1]
                found += [(order, i + 2, ci) for order, stem, ci in self._stems.get(tok, ()) if second.startswith(stem)]
                for order, rest, prefix, ci in self._pairs.get((tok, second), ()):
                    k = len(rest)  # tokens after the second
                    if k == 0:
                        found.append((order, i + 2, ci))
                    elif i + 1 + k < n and all(toks[i + 2 + j] == rest[j] for j in range(k - 1)) and (
                            toks[i + 1 + k].startswith(rest[-1]) if prefix else toks[i + 1 + k] == rest[-1]):
                        found.append((order, i + 2 + k, ci))
            if len(found) > 1:
                found.sort()
            for _, end, ci in found:
                yield i, end, ci
            for ci in self._prefix_hits(tok) if self._prefix else ():
                yield i, i + 1, ci

    def _prefix_hits(self, tok: str) -> tuple[int, ...]:
        """Category indices of the one-word prefix terms ``tok`` starts with, shortest prefix first; remembered
        per word (bounded), since trying every prefix length of every word was a third of the matching."""
        hits = self._prefix_cache.get(tok)
        if hits is None:
            hits = tuple(ci for size in range(1, min(len(tok), self._max_prefix) + 1)
                         for ci in self._prefix.get(tok[:size], ()))
            if len(self._prefix_cache) >= _PREFIX_CACHE_SIZE:
                self._prefix_cache.clear()
            self._prefix_cache[tok] = hits
        return hits

    def counts(self, text: str) -> np.ndarray:
        out = np.zeros(len(self.categories), dtype=np.float32)
        for _, _, ci in self._matches(tokens(text)):
            out[ci] += 1
        return out

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, category) of every term found, as character offsets into ``text`` itself."""
        found = [(m.group().casefold(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        toks = [t for t, _, _ in found]
        return [(found[i][1], found[j - 1][2], self.categories[ci]) for i, j, ci in self._matches(toks)]

    def counts_many(self, texts: Sequence[str], seen: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """``counts`` of each text; ``seen`` (text -> counts) may carry the texts counted by an earlier call."""
        if not texts:
            return np.zeros((0, len(self.categories)), dtype=np.float32)
        # a turn comes back as the next turn's context, and agents repeat their phrases: count each text once
        seen = {} if seen is None else seen
        return np.stack([seen[t] if t in seen else seen.setdefault(t, self.counts(t)) for t in texts])
