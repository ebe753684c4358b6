[[long
long
long
long
long
]] ~= "" and [==[a]]b]==] ~= ""