// Word lists for needle keys ("adjective-noun", as RULER draws them) and word-valued needles.
// Common, unambiguous English words, one token or two in most tokenizers.

const ADJECTIVES_TEXT = `
able absent active agile amber ancient angry anxious aquatic arctic ashen awake bald bashful big
bitter blank bold brave brief bright brisk broad broken bumpy busy calm careful cheap cheerful
chilly clean clever cloudy clumsy coastal cold cosmic cozy crisp cruel curly curious damp dark
dear deep dense dizzy dry dull dusty eager early easy elastic elder empty equal exotic faint fair
fancy fast fierce fine firm flat fluffy fond fresh friendly frosty funny fuzzy gentle giant glad
glossy golden grand gray great green grumpy happy hard harsh hasty heavy hidden high hollow honest
huge humble hungry icy idle jolly juicy keen kind large lazy light little lively lonely long loud
lucky mellow merry mighty mild modern moist narrow neat nervous new nimble noble noisy odd old
open orange pale patient plain pleasant polite poor proud purple quick quiet rapid rare raw ready
rich rigid ripe robust rough round royal rural rusty sad safe salty sandy scarlet secret sharp
shiny short shy silent silky silver simple sleepy slim slow small smart smooth snowy soft solid
sour spare spicy spotted steady steep sticky stormy strange strict strong sturdy sunny super sweet
swift tall tame tender thick thin tidy tiny tough tricky true urban vast violet vivid warm wary
weak wet white wide wild windy wise witty wooden yellow young zealous
`;

const NOUNS_TEXT = `
acorn anchor ant apple arch arrow badge bakery balloon bamboo banana barn basket bat beach bean
bear beetle bell bench berry bird blanket boat bottle bread brick bridge brook brush bucket
butter button cabin cactus cake camel candle canoe canyon carrot castle cat cave cedar chair
cherry chest circle city cliff clock cloud clover coat coffee comet compass copper coral cotton
cow crab crane creek crow crown cup daisy deer desert diamond dolphin door dragon drum duck eagle
elbow engine falcon feather fern field fig finch flag flute forest fox frog garden garlic gate
glacier goat grape guitar hammer harbor hat hawk hill honey horse island jacket jar kettle key
kite ladder lake lamp lantern leaf lemon lion lizard llama lobster map maple meadow melon mirror
mitten monkey moon moose mountain mouse mushroom needle nest ocean olive onion orchard otter owl
oyster paddle panda parrot peach pear pebble pencil penguin pepper piano pigeon pillow pine plum
pond poppy potato pumpkin puzzle quilt rabbit radish rainbow raven reef ribbon river robin rocket
rose saddle sail salmon shell ship shovel sparrow spider spoon squirrel star stone stove
strawberry swan table teapot tiger tomato tower tractor train tree trumpet tulip turtle valley
violin wagon walnut whale wheel willow window wolf zebra
`;

/** Adjectives, the first half of a key. */
export const ADJECTIVES: readonly string[] = ADJECTIVES_TEXT.trim().split(/\s+/);
/** Nouns, the second half of a key and the values of word-valued needles. */
export const NOUNS: readonly string[] = NOUNS_TEXT.trim().split(/\s+/);
